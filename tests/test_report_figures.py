"""Figures for a paper: every plot as vector PDF and 300-dpi PNG in one style (width, fonts, dpi), no text
outside the figure and no two texts overprinting (checked with matplotlib's renderer, and shown to catch a
planted overlap), no empty panel (a study without energy draws none; a figure without data is left out and
summary.md says why), captions in summary.md rather than in the figure, the padding level apart from the
L0..L3 line, and the tidy CSV."""

from __future__ import annotations

import csv
import struct

import pytest
from PIL import Image
from planted_study import LEVELS, MODELS, QUESTIONS, planted_rows, write_planted_study

from figure_checks import drawn_texts, overlapping_texts
from slmbench.layout import PLOT_FORMATS, PLOTS, SUMMARY_BY_LEVEL_CSV
from slmbench.report.analysis import analyze
from slmbench.report.build import build_reports
from slmbench.report.data import load_study
from slmbench.report.plots import FONT, WIDTH_IN, NotDrawn, figure, omitted

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


@pytest.fixture(scope="module")
def demo_shaped(tmp_path_factory):
    """The demo's shape: one model, no power sensor (energy null), the reports of a real build."""
    tmp = tmp_path_factory.mktemp("demo-figures")
    runs, scores = planted_rows()
    runs = [{**r, "energy_j": None, "power_source": "none"} for r in runs if r["model_id"] == "gains"]
    scores = [s for s in scores if s["model_id"] == "gains"]
    runs_path, scores_path, _, _ = write_planted_study(tmp / "in", runs, scores)
    build_reports(runs_path, scores_path, tmp / "out", SETTINGS, only=["plots", "summary"])
    return {"out": tmp / "out", "analysis": analyze(load_study(runs_path, scores_path, SETTINGS))}


def test_every_plot_exists_as_vector_and_300_dpi_png_of_one_width(built):
    assert PLOT_FORMATS == ("png", "pdf")
    for name in PLOTS:
        pdf = (built["out"] / "plots" / f"{name}.pdf").read_bytes()
        png = (built["out"] / "plots" / f"{name}.png").read_bytes()
        assert pdf.startswith(b"%PDF-"), name
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        width, height, dpi = png_size_and_dpi(png)
        # one width for all: a paper's text width at 300 dpi, so a font size reads the same in every figure
        assert dpi == pytest.approx(300, abs=1) and width == pytest.approx(WIDTH_IN * 300, abs=2), (name, width)


@pytest.mark.parametrize("name", PLOTS)
def test_every_text_is_in_the_one_font_size(built, name):
    sizes = {text.get_fontsize() for text in drawn_texts(figure(built["analysis"], name))}
    assert sizes <= {FONT, FONT - 1}, (name, sizes)


@pytest.mark.parametrize("study", ["built", "demo_shaped"])
@pytest.mark.parametrize("name", PLOTS)
def test_no_two_texts_overlap(request, study, name):
    fig = figure(request.getfixturevalue(study)["analysis"], name)
    assert overlapping_texts(fig) == [], (study, name)


def test_the_overlap_check_catches_a_planted_overlap(built):
    fig = figure(built["analysis"], "energy_quality_pareto")
    assert overlapping_texts(fig) == []
    ax = fig.axes[0]
    # two labels of nearby points, as the old figure wrote them beside each point: they overprint
    ax.annotate("L2", (0.5, 0.5), xycoords="axes fraction", fontsize=FONT)
    ax.annotate("L3 29%", (0.51, 0.505), xycoords="axes fraction", fontsize=FONT)
    assert ("L2", "L3 29%") in overlapping_texts(fig)
    fig = figure(built["analysis"], "dimensions_radar")
    fig.axes[0].text(0.0, 0.0, "factuality", transform=fig.axes[0].transAxes)  # a label over another panel's
    fig.axes[0].text(0.02, 0.01, "2.50", transform=fig.axes[0].transAxes)
    assert ("factuality", "2.50") in overlapping_texts(fig)


def test_a_study_without_energy_draws_no_energy_panel_and_no_figure_says_not_measured(demo_shaped):
    analysis = demo_shaped["analysis"]
    assert omitted(analysis) == {}
    for name in PLOTS:
        texts = " ".join(t.get_text() for t in drawn_texts(figure(analysis, name))).lower()
        assert "not measured" not in texts and "energy" not in texts, (name, texts)
        assert (demo_shaped["out"] / "plots" / f"{name}.png").exists()
    assert len(figure(analysis, "energy_quality_pareto").axes) == 1  # latency only
    assert len(figure(analysis, "latency_energy_by_level").axes) == 1
    summary = (demo_shaped["out"] / "summary.md").read_text(encoding="utf-8")
    assert "Energy was not measured (no power sensor), so only latency is shown." in summary


def test_a_figure_without_data_is_left_out_and_summary_says_why(tmp_path, built):
    runs, scores = planted_rows()
    scores = [{**s, "judge_status": "parse_error", "total_score": None, "factuality": None, "helpfulness": None,
               "structure": None, "conciseness": None} for s in scores]  # not one usable verdict
    runs_path, scores_path, _, _ = write_planted_study(tmp_path / "in", runs, scores)
    out = tmp_path / "out"
    (out / "plots").mkdir(parents=True)
    (out / "plots" / "quality_by_level.png").write_bytes(b"an older figure")  # from an earlier build
    build_reports(runs_path, scores_path, out, SETTINGS, only=["plots", "summary"])
    analysis = analyze(load_study(runs_path, scores_path, SETTINGS))
    left_out = omitted(analysis)
    assert set(left_out) == {"quality_vs_prompt_tokens", "energy_quality_pareto", "dimensions_radar",
                             "quality_gain_vs_extra_energy", "quality_by_level"}
    with pytest.raises(NotDrawn):
        figure(analysis, "quality_by_level")
    # the older figure is gone: in its place, as for every figure left out, a placeholder that says why (the
    # workflow declares every figure as an output); the figures of latency and energy alone are drawn
    notes = {p.name: Image.open(p).info.get("Description") for p in (out / "plots").glob("*.png")}
    assert notes == {**{f"{name}.png": f"Not drawn: {why}" for name, why in left_out.items()},
                     "latency_energy_by_level.png": None, "power_modes_by_model.png": None}
    assert len(list((out / "plots").glob("*.pdf"))) == len(notes)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "- Figure `quality_by_level` is not drawn: no answer has a usable judge score." in summary
    assert "*Figure 1. Mean latency and energy per answer" in summary
    assert "*Figure 2. Output tokens per joule" in summary
    assert "*Figure 3." not in summary


@pytest.mark.parametrize("name", PLOTS)
def test_no_text_lies_outside_the_figure(built, name):
    fig = figure(built["analysis"], name)
    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    bounds = fig.bbox
    assert texts, name
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= bounds.x0 - 1 and box.y0 >= bounds.y0 - 1, (name, text.get_text(), box)
        assert box.x1 <= bounds.x1 + 1 and box.y1 <= bounds.y1 + 1, (name, text.get_text(), box)
    # no title or note burned into the figure: they are captions
    assert not fig._suptitle and not any("judge note" in t.get_text().lower() for t in texts)


def test_padding_level_is_its_own_marker_beside_the_line(built):
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
