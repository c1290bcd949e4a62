"""Figures for a paper: every plot as vector PDF and 300-dpi PNG, no text outside the figure, captions in
summary.md rather than in the figure, the padding level apart from the L0..L3 line, and the tidy CSV."""

from __future__ import annotations

import csv
import struct
from unittest import mock

import pytest
from planted_study import LEVELS, MODELS, QUESTIONS, write_planted_study

from slmbench.layout import PLOT_FORMATS, PLOTS, SUMMARY_BY_LEVEL_CSV
from slmbench.report.analysis import analyze
from slmbench.report.build import build_reports
from slmbench.report.data import load_study

SETTINGS = {"levels": LEVELS, "bootstrap_samples": 200, "demo_note": "A long judge note " * 8}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("figures")
    runs, scores, _, _ = write_planted_study(tmp / "in")
    build_reports(runs, scores, tmp / "out", SETTINGS, only=["plots", "summary"])
    return {"out": tmp / "out", "analysis": analyze(load_study(runs, scores, SETTINGS))}


def png_size_and_dpi(data: bytes):
    width, height = struct.unpack(">II", data[16:24])
    at = data.find(b"pHYs")
    per_metre = struct.unpack(">I", data[at + 4:at + 8])[0]
    return width, height, per_metre * 0.0254


def test_every_plot_exists_as_vector_and_300_dpi_png(built):
    assert PLOT_FORMATS == ("png", "pdf")
    for name in PLOTS:
        pdf = (built["out"] / "plots" / f"{name}.pdf").read_bytes()
        png = (built["out"] / "plots" / f"{name}.png").read_bytes()
        assert pdf.startswith(b"%PDF-"), name
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        width, height, dpi = png_size_and_dpi(png)
        assert dpi == pytest.approx(300, abs=1) and width >= 1200, (name, width, dpi)


@pytest.mark.parametrize("name", PLOTS)
def test_no_text_lies_outside_the_figure(built, name):
    from matplotlib.text import Text

    from slmbench.report.plots import figure

    fig = figure(built["analysis"], name)
    drawn = []  # the text artists matplotlib really draws (not, e.g., labels of ticks outside the view)
    original = Text.draw

    def recording_draw(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return original(self, renderer)

    with mock.patch.object(Text, "draw", recording_draw):
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bounds = fig.bbox
    texts = list(dict.fromkeys(drawn))
    assert texts, name
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= bounds.x0 - 1 and box.y0 >= bounds.y0 - 1, (name, text.get_text(), box)
        assert box.x1 <= bounds.x1 + 1 and box.y1 <= bounds.y1 + 1, (name, text.get_text(), box)
    # no title or note burned into the figure: they are captions
    assert not fig._suptitle and not any("judge note" in t.get_text().lower() for t in texts)


def test_padding_level_is_its_own_marker_beside_the_line(built):
    from slmbench.report.plots import figure

    fig = figure(built["analysis"], "quality_vs_prompt_tokens")
    ax = fig.axes[0]
    joined = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "none", "")
              and len(line.get_xdata()) > 1]
    assert len(joined) == len(MODELS)
    summary = built["analysis"].summary
    for line in joined:
        xs = list(line.get_xdata())
        assert len(xs) == 4 and xs == sorted(xs)  # L0..L3, never back from P
        assert not set(xs) & set(summary.loc[summary["level"] == "P", "prompt_tokens"])


def test_summary_md_holds_the_captions_and_links_both_formats(built):
    text = (built["out"] / "summary.md").read_text(encoding="utf-8")
    for number, name in enumerate(PLOTS, start=1):
        assert f"![{name}](plots/{name}.png)" in text
        assert f"*Figure {number}. " in text and f"(vector: [{name}.pdf](plots/{name}.pdf))" in text


def test_summary_by_level_csv_is_tidy_with_n(built):
    with open(built["out"] / SUMMARY_BY_LEVEL_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["model", "level", "metric", "mean", "ci_low", "ci_high", "n"]
    quality = {(r["model"], r["level"]): r for r in rows if r["metric"] == "quality"}
    assert set(quality) == {(m, lvl) for m in MODELS for lvl in LEVELS}
    summary = built["analysis"].summary.set_index(["model", "level"])
    for key, row in quality.items():
        assert float(row["mean"]) == pytest.approx(summary.loc[key, "quality"], rel=1e-5)
        assert float(row["ci_low"]) < float(row["mean"]) < float(row["ci_high"])
        assert int(row["n"]) == QUESTIONS
    assert {"factuality", "energy_j", "latency_ms", "quality_per_joule"} <= {r["metric"] for r in rows}
