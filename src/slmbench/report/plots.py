"""Figures for a paper (matplotlib, Agg, no pyplot state): each as vector PDF and 300-dpi PNG.

One style for every figure (STYLE): the same width (a paper's text width), fonts and dpi, so a label reads the
same size in every figure; colour is the model and the marker is the level in all of them, so no point needs
a text label (labels beside points overprint one another as soon as two levels cost about the same). Titles and
notes are not drawn: they are the captions (captions.py) in summary.md and the Snakemake report. A panel is
drawn only for what was measured (no energy panel without a power sensor), and a figure with nothing to draw
is left out of summary.md and the workbooks; `omitted(analysis)` says which and why, and summary.md prints it in
the figure's place. Its file under plots/ is then a placeholder that says so in its picture and in its metadata
(PNG "Description", PDF "Subject"): the workflow declares every figure as an output of the reports job (each with
its caption in the Snakemake report), and a study whose judge failed every verdict must still finish its reports.
"""

from __future__ import annotations

import io
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

from ..layout import PLOT_FORMATS, PLOTS
from ..records import atomic_output
from .analysis import Analysis, load_analysis
from .captions import PNG_DPI
from .contrasts import PADDING_LEVEL
from .data import DIMENSIONS
from .mode_figure import power_modes_by_model, why_not_drawn

WIDTH_IN = 6.5  # every figure: a paper's text width
ROW_IN = 3.0  # height of one row of panels (plus LEGEND_IN for the legend below)
LEGEND_IN = 0.5
FONT = 8  # points, for every text of every figure (ticks and legends one smaller)
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": FONT,
    "axes.titlesize": FONT,
    "axes.labelsize": FONT,
    "xtick.labelsize": FONT - 1,
    "ytick.labelsize": FONT - 1,
    "legend.fontsize": FONT - 1,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.dpi": PNG_DPI,
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text (searchable, editable in a paper's tools)
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))


class NotDrawn(Exception):
    """A figure with nothing to draw: its reason goes to summary.md in its place."""


@contextmanager
def _style():
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def _figure(rows: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, ROW_IN * rows + LEGEND_IN), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _err(point, low, high) -> np.ndarray:
    """Asymmetric error bars; a percentile interval may miss a ratio's point estimate, so clip at 0."""
    lower = (np.asarray(point, dtype=float) - np.asarray(low, dtype=float))
    upper = (np.asarray(high, dtype=float) - np.asarray(point, dtype=float))
    return np.clip(np.nan_to_num(np.vstack([lower, upper]), nan=0.0), 0, None)


class Encoding:
    """Colour per model, marker per level (the padding level open), the same in every figure."""

    def __init__(self, analysis: Analysis):
        from matplotlib import colormaps

        cmap = colormaps["tab10"]
        self.models = list(analysis.study.models)
        self.levels = list(analysis.study.levels)
        self.color = {m: cmap(i % 10) for i, m in enumerate(self.models)}
        self.marker = {lvl: MARKERS[i % len(MARKERS)] for i, lvl in enumerate(self.levels)}

    def padding(self, level: str) -> bool:
        return level == PADDING_LEVEL and self.levels.index(level) > 0

    def point(self, model: str, level: str) -> dict:
        color = self.color[model]
        return {"marker": self.marker[level], "color": color, "mec": color,
                "mfc": "white" if self.padding(level) else color}

    def linestyle(self, level: str):
        return LINESTYLES[self.levels.index(level) % len(LINESTYLES)]

    def legend(self, fig, models=True, levels=True, level_lines=False) -> None:
        """One legend below the panels, outside them: the models' colours, then the levels' markers."""
        from matplotlib.lines import Line2D

        handles = []
        if models:
            handles += [Line2D([], [], color=self.color[m], marker="o", ls="-", label=m) for m in self.models]
        if levels:
            handles += [Line2D([], [], color="dimgrey", marker=self.marker[lvl],
                               ls=self.linestyle(lvl) if level_lines else "none",
                               mfc="white" if self.padding(lvl) else "dimgrey", label=lvl + (" (padding)" if
                                                                                             self.padding(lvl) else ""))
                        for lvl in self.levels]
        if handles:
            ncols = len(handles) if len(handles) <= 8 else math.ceil(len(handles) / 2)  # one row, else two
            fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False)


def _scored_models(analysis: Analysis) -> List[str]:
    s = analysis.summary
    return [m for m in analysis.study.models if s.loc[s["model"] == m, "quality"].notna().any()]


def _costs(analysis: Analysis) -> List[str]:
    return [c for c in COST_LABELS if not analysis.pareto[analysis.pareto["cost"] == c].empty]


def _metric_panels(analysis: Analysis) -> list:
    return [p for p in METRIC_PANELS if analysis.summary[p[0]].notna().any()]


def _why_not(analysis: Analysis, name: str) -> Optional[str]:
    """Why a figure has nothing to draw, or None: the same test for drawing it and for saying so."""
    scored = bool(_scored_models(analysis))
    if name in ("quality_vs_prompt_tokens", "quality_by_level") and not scored:
        return "no answer has a usable judge score"
    if name == "dimensions_radar" and not (scored and np.isfinite(
            analysis.summary[DIMENSIONS].to_numpy(dtype=float)).any()):
        return "no answer has usable judge dimension scores"
    if name == "energy_quality_pareto" and not _costs(analysis):
        return "no scored answer has a measured energy or latency"
    if name == "latency_energy_by_level" and not _metric_panels(analysis):
        return "no run has a measured latency or energy"
    if name == "quality_gain_vs_extra_energy" and analysis.marginal.dropna(
            subset=["quality_gain", gain_cost(analysis)[0]]).empty:
        return f"no paired quality differences against {analysis.study.baseline} with a measured cost"
    if name == "power_modes_by_model":
        return why_not_drawn(analysis)  # mode_figure.py
    return None


def quality_vs_prompt_tokens(analysis: Analysis):
    enc = Encoding(analysis)
    fig = _figure()
    ax = fig.add_subplot()
    for model, own in analysis.summary.groupby("model", sort=False):
        own = own.set_index("level").dropna(subset=["quality", "prompt_tokens"])
        line = own.reindex([lvl for lvl in enc.levels if lvl in own.index and not enc.padding(lvl)])
        ax.plot(line["prompt_tokens"], line["quality"], color=enc.color[model], lw=1.0)
        for level, r in own.iterrows():
            ax.errorbar([r["prompt_tokens"]], [r["quality"]],
                        yerr=_err([r["quality"]], [r["quality_low"]], [r["quality_high"]]), capsize=2, ls="none",
                        **enc.point(model, level))
    ax.set_xlabel("mean prompt tokens")
    ax.set_ylabel("mean quality (0-10)")
    ax.margins(0.08)
    enc.legend(fig)
    return fig


COST_LABELS = {"energy_j": "mean energy per answer (J)", "latency_ms": "mean latency per answer (ms)"}


def energy_quality_pareto(analysis: Analysis):
    costs = _costs(analysis)
    enc = Encoding(analysis)
    fig = _figure()
    for i, cost in enumerate(costs):
        ax = fig.add_subplot(1, len(costs), i + 1)
        points = analysis.pareto[analysis.pareto["cost"] == cost]
        for model, own in points.groupby("model", sort=False):
            front = own[own["on_front"]].sort_values("cost_value")
            ax.plot(front["cost_value"], front["quality"], color=enc.color[model], lw=0.9, ls="--")
            for r in own.itertuples():
                ax.plot([r.cost_value], [r.quality], ls="none", zorder=3, **enc.point(model, r.level))
        ax.set_xlabel(COST_LABELS[cost])
        ax.set_ylabel("mean quality (0-10)")
        ax.margins(0.12)
    enc.legend(fig)
    return fig


def dimensions_radar(analysis: Analysis):
    models = _scored_models(analysis)
    values_seen = analysis.summary[DIMENSIONS].to_numpy(dtype=float)
    finite = values_seen[np.isfinite(values_seen)]
    enc = Encoding(analysis)
    cols = min(len(models), 2 if len(models) == 4 else 3)
    rows = math.ceil(len(models) / cols)
    fig = _figure(rows)
    angles = np.linspace(0, 2 * np.pi, len(DIMENSIONS), endpoint=False)
    closed = np.append(angles, angles[0])
    low = max(0.0, math.floor(finite.min() * 4) / 4 - 0.25)
    high = min(2.5, math.ceil(finite.max() * 4) / 4 + 0.25)
    for i, model in enumerate(models):
        ax = fig.add_subplot(rows, cols, i + 1, projection="polar")
        own = analysis.summary[analysis.summary["model"] == model]
        for r in own.itertuples():
            values = np.array([getattr(r, d) for d in DIMENSIONS], dtype=float)
            if np.isnan(values).all():
                continue
            ax.plot(closed, np.append(values, values[0]), lw=1.0, ls=enc.linestyle(r.level),
                    color=enc.color[model], ms=3.5, **{k: v for k, v in enc.point(model, r.level).items()
                                                      if k != "color"})
        ax.set_xticks(angles)
        ax.set_xticklabels(DIMENSIONS)
        ax.tick_params(axis="x", pad=1)
        ax.set_ylim(low, high)
        ax.set_yticks(np.round(np.linspace(low, high, 3)[1:], 2))  # few ring labels, between two dimensions
        ax.set_rlabel_position(float(np.degrees(angles[1] / 2)))
        ax.set_title(model, pad=14)
    enc.legend(fig, models=False, level_lines=True)
    return fig


METRIC_PANELS = (("latency_ms", 1 / 1000, "mean latency per answer (s)"),
                 ("energy_j", 1.0, "mean energy per answer (J)"))


def latency_energy_by_level(analysis: Analysis):
    s = analysis.summary
    panels = _metric_panels(analysis)
    enc = Encoding(analysis)
    fig = _figure()
    width = 0.8 / max(len(enc.models), 1)
    x = np.arange(len(enc.levels))
    for i, (value, scale, ylabel) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for j, model in enumerate(enc.models):
            own = s[s["model"] == model].set_index("level").reindex(enc.levels)
            point = own[value] * scale
            ax.bar(x + (j - (len(enc.models) - 1) / 2) * width, point, width, color=enc.color[model],
                   yerr=_err(point, own[f"{value}_low"] * scale, own[f"{value}_high"] * scale), capsize=2)
        ax.set_xticks(x)
        ax.set_xticklabels(enc.levels)
        ax.set_ylabel(ylabel)
        ax.grid(axis="x", visible=False)
    enc.legend(fig, levels=False)
    return fig


def gain_cost(analysis: Analysis):
    """(column, scale, axis label) of the cost the quality gain is set against: energy when measured."""
    t = analysis.marginal
    base = analysis.study.baseline
    if t["extra_energy_j"].notna().any():
        return "extra_energy_j", 1.0, f"extra energy per answer vs {base} (J)"
    return "extra_latency_ms", 1 / 1000, f"extra latency per answer vs {base} (s)"


def quality_gain_vs_extra_energy(analysis: Analysis):
    cost, scale, label = gain_cost(analysis)
    t = analysis.marginal.dropna(subset=["quality_gain", cost])
    enc = Encoding(analysis)
    fig = _figure()
    ax = fig.add_subplot()
    for model, own in t.groupby("model", sort=False):
        for r in own.itertuples():
            x = getattr(r, cost) * scale
            ax.errorbar([x], [r.quality_gain],
                        xerr=_err([x], [getattr(r, f"{cost}_low") * scale], [getattr(r, f"{cost}_high") * scale]),
                        yerr=_err([r.quality_gain], [r.quality_gain_low], [r.quality_gain_high]), capsize=2,
                        ls="none", **enc.point(model, r.level))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(label)
    ax.set_ylabel(f"quality gain vs {analysis.study.baseline} (points)")
    ax.margins(0.1)
    enc.legend(fig)
    return fig


def quality_by_level(analysis: Analysis):
    """Dot plot: each level's mean quality with its CI, one panel per model, the padding level open."""
    models = _scored_models(analysis)
    enc = Encoding(analysis)
    cols = min(len(models), 4)
    rows = math.ceil(len(models) / cols)
    fig = _figure(rows)
    s = analysis.summary
    share = None
    x = np.arange(len(enc.levels))
    for i, model in enumerate(models):
        ax = fig.add_subplot(rows, cols, i + 1, sharey=share)
        share = share or ax
        own = s[s["model"] == model].set_index("level").reindex(enc.levels)
        for j, level in enumerate(enc.levels):
            r = own.loc[level]
            if pd.isna(r["quality"]):
                continue
            ax.errorbar([x[j]], [r["quality"]], yerr=_err([r["quality"]], [r["quality_low"]], [r["quality_high"]]),
                        capsize=2, ls="none", **enc.point(model, level))
        ax.set_xticks(x)
        ax.set_xticklabels([f"{lvl}\nn={int(own.loc[lvl, 'n'])}" if pd.notna(own.loc[lvl, "n"]) else lvl
                            for lvl in enc.levels])
        ax.set_title(model)
        ax.set_xlim(-0.5, len(enc.levels) - 0.5)
        ax.grid(axis="x", visible=False)
        if i % cols == 0:
            ax.set_ylabel("mean quality (0-10)")
    return fig


RENDERERS = {
    "quality_vs_prompt_tokens": quality_vs_prompt_tokens,
    "energy_quality_pareto": energy_quality_pareto,
    "dimensions_radar": dimensions_radar,
    "latency_energy_by_level": latency_energy_by_level,
    "quality_gain_vs_extra_energy": quality_gain_vs_extra_energy,
    "quality_by_level": quality_by_level,
    "power_modes_by_model": power_modes_by_model,  # mode_figure.py
}
assert tuple(RENDERERS) == PLOTS  # layout.PLOTS is what the workflow declares as outputs


def figure(analysis: Analysis, name: str):
    """The matplotlib Figure of one plot, in STYLE (for rendering, or for checking its layout); NotDrawn when
    it has nothing to draw."""
    reason = _why_not(analysis, name)
    if reason:
        raise NotDrawn(reason)
    with _style():
        return RENDERERS[name](analysis)


def omitted(analysis: Analysis) -> Dict[str, str]:
    """{name: why} for every figure left out because it has nothing to draw."""
    return {name: reason for name in PLOTS if (reason := _why_not(analysis, name))}


NOT_DRAWN = "Not drawn: "  # how a placeholder's picture and metadata begin


def _encode(fig, ext: str, note: Optional[str] = None) -> bytes:
    buffer = io.BytesIO()
    with _style():
        if ext == "pdf":  # no CreationDate: same inputs, same bytes
            fig.savefig(buffer, format="pdf", metadata={"CreationDate": None, **({"Subject": note} if note else {})})
        else:
            fig.savefig(buffer, format=ext, dpi=PNG_DPI, **({"metadata": {"Description": note}} if note else {}))
    return buffer.getvalue()


def placeholder(name: str, reason: str) -> Dict[str, bytes]:
    """{ext: bytes} of the file that stands in for a figure with nothing to draw: its name and why, as text."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    note = f"{NOT_DRAWN}{reason}"
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 1.0))
        FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, f"{name}\n{note}", ha="center", va="center")
    return {ext: _encode(fig, ext, note) for ext in PLOT_FORMATS}


def render_figure(analysis: Analysis, name: str) -> Optional[Dict[str, bytes]]:
    """{ext: bytes} of one plot in every format of layout.PLOT_FORMATS; None when it has nothing to draw."""
    try:
        fig = figure(analysis, name)
    except NotDrawn:
        return None
    return {ext: _encode(fig, ext) for ext in PLOT_FORMATS}


def render_figures(analysis: Analysis) -> Dict[str, Dict[str, bytes]]:
    """{name: {ext: bytes}} for every plot that has something to draw, in every format of PLOT_FORMATS."""
    drawn = {name: render_figure(analysis, name) for name in PLOTS}
    return {name: encoded for name, encoded in drawn.items() if encoded is not None}


def write_plots(analysis: Analysis, outdir, figures: Optional[Dict[str, Dict[str, bytes]]] = None) -> List[Path]:
    figures = render_figures(analysis) if figures is None else figures
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)  # the folder is the workflow's output, even with no figure in it
    paths = []
    for name, encoded in figures.items():
        for ext, data in encoded.items():
            path = outdir / f"{name}.{ext}"
            with atomic_output(path, "wb", encoding=None) as fh:
                fh.write(data)
            paths.append(path)
    # a figure left out this time: its placeholder, so no older copy stays beside the new ones looking current
    for name, reason in omitted(analysis).items():
        if name in figures:
            continue
        for ext, data in placeholder(name, reason).items():
            path = outdir / f"{name}.{ext}"
            with atomic_output(path, "wb", encoding=None) as fh:
                fh.write(data)
            paths.append(path)
    return paths


def build_plots(runs_path, scores_path, outdir, settings=None) -> List[Path]:
    """<outdir>/<name>.png and .pdf for every name in layout.PLOTS that has something to draw (a placeholder for
    the others)."""
    return write_plots(load_analysis(runs_path, scores_path, settings), outdir)
