"""Figures for a paper (matplotlib, Agg, no pyplot state): each as vector PDF and 300-dpi PNG.

Titles and notes are not drawn: they are the captions (captions.py) in summary.md and the Snakemake report,
so a figure holds only axes, labels and legends, laid out by constrained layout so no text is clipped.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Dict, List

import numpy as np
import pandas as pd

from ..layout import PLOT_FORMATS, PLOTS
from ..records import atomic_output
from .analysis import Analysis, load_analysis
from .captions import PNG_DPI
from .contrasts import PADDING_LEVEL
from .data import DIMENSIONS
from .mode_figure import power_modes_by_model

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
FONT = 8


def _figure(width: float = 6.5, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _err(point: pd.Series, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Asymmetric error bars; a percentile interval may miss a ratio's point estimate, so clip at 0."""
    lower = (np.asarray(point, dtype=float) - np.asarray(low, dtype=float))
    upper = (np.asarray(high, dtype=float) - np.asarray(point, dtype=float))
    return np.clip(np.nan_to_num(np.vstack([lower, upper]), nan=0.0), 0, None)


def _colors(models: List[str]) -> Dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(models)}


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=FONT)
    ax.set_xticks([])
    ax.set_yticks([])


def _legend(fig, ax) -> None:
    """One legend below the axes, outside them (constrained layout makes room for it)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=FONT,
                   frameon=False)


def _split_padding(levels: List[str]):
    """(levels on the line, the padding level or None): P is drawn beside the line, never joined to it."""
    if PADDING_LEVEL in levels and levels.index(PADDING_LEVEL) > 0:
        return [lvl for lvl in levels if lvl != PADDING_LEVEL], PADDING_LEVEL
    return list(levels), None


def quality_vs_prompt_tokens(analysis: Analysis):
    fig = _figure()
    ax = fig.add_subplot()
    s = analysis.summary
    if not s["quality"].notna().any():
        _empty(ax, "no judged scores: quality cannot be plotted")
        return fig
    colors = _colors(analysis.study.models)
    line_levels, padding = _split_padding(analysis.study.levels)
    for model, own in s.groupby("model", sort=False):
        own = own.set_index("level")
        line = own.reindex([lvl for lvl in line_levels if lvl in own.index])
        ax.errorbar(line["prompt_tokens"], line["quality"], yerr=_err(line["quality"], line["quality_low"],
                    line["quality_high"]), marker="o", ms=4, capsize=2, lw=1.2, label=model, color=colors[model])
        if padding in own.index:
            r = own.loc[padding]
            ax.errorbar([r["prompt_tokens"]], [r["quality"]], yerr=_err([r["quality"]], [r["quality_low"]],
                        [r["quality_high"]]), marker="D", ms=5, mfc="white", capsize=2, ls="none",
                        color=colors[model])
        for level, r in own.iterrows():
            if not (math.isnan(r["prompt_tokens"]) or math.isnan(r["quality"])):
                ax.annotate(level, (r["prompt_tokens"], r["quality"]), textcoords="offset points", xytext=(3, 3),
                            fontsize=FONT - 1)
    if padding:
        ax.plot([], [], marker="D", mfc="white", ls="none", color="grey", label=f"{padding} (padding)")
    ax.set_xlabel("mean prompt tokens")
    ax.set_ylabel("mean quality (0-10)")
    ax.margins(0.08)
    ax.grid(alpha=0.3)
    _legend(fig, ax)
    return fig


def energy_quality_pareto(analysis: Analysis):
    fig = _figure(7.0, 3.8)
    axes = [fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)]
    colors = _colors(analysis.study.models)
    labels = {"energy_j": "mean energy per answer (J)", "latency_ms": "mean latency per answer (ms)"}
    for ax, cost in zip(axes, ("energy_j", "latency_ms")):
        points = analysis.pareto[analysis.pareto["cost"] == cost]
        if points.empty:
            _empty(ax, "energy not measured" if cost == "energy_j" else "no scored latency")
            continue
        for model, own in points.groupby("model", sort=False):
            ax.scatter(own["cost_value"], own["quality"], color=colors[model], label=model, s=14, zorder=3)
            front = own[own["on_front"]].sort_values("cost_value")
            ax.plot(front["cost_value"], front["quality"], color=colors[model], lw=0.9, ls="--")
            for r in own.itertuples():  # the share only on the front (every share is in the pareto sheet)
                label = f"{r.level} {r.front_share:.0%}" if r.on_front else r.level
                ax.annotate(label, (r.cost_value, r.quality), textcoords="offset points", xytext=(3, 3),
                            fontsize=FONT - 2, color="black" if r.on_front else "dimgrey")
        ax.set_xlabel(labels[cost])
        ax.set_ylabel("mean quality (0-10)")
        ax.margins(0.12)
        ax.grid(alpha=0.3)
    _legend(fig, next((ax for ax in axes if ax.get_legend_handles_labels()[0]), axes[0]))
    return fig


def dimensions_radar(analysis: Analysis):
    models = analysis.study.models
    cols = min(len(models), 3)
    rows = math.ceil(len(models) / cols)
    fig = _figure(2.6 * cols + 0.4, 2.7 * rows + 0.6)
    angles = np.linspace(0, 2 * np.pi, len(DIMENSIONS), endpoint=False)
    closed = np.append(angles, angles[0])
    values_seen = analysis.summary[DIMENSIONS].to_numpy(dtype=float)
    finite = values_seen[np.isfinite(values_seen)]
    low = max(0.0, math.floor(finite.min() * 4) / 4 - 0.25) if finite.size else 0.0
    high = min(2.5, math.ceil(finite.max() * 4) / 4 + 0.25) if finite.size else 2.5
    first = None
    for i, model in enumerate(models):
        ax = fig.add_subplot(rows, cols, i + 1, projection="polar")
        own = analysis.summary[analysis.summary["model"] == model]
        for k, r in enumerate(own.itertuples()):
            values = np.array([getattr(r, d) for d in DIMENSIONS], dtype=float)
            if np.isnan(values).all():
                continue
            ax.plot(closed, np.append(values, values[0]), label=r.level, lw=1.1, ls=LINESTYLES[k % len(LINESTYLES)],
                    marker=MARKERS[k % len(MARKERS)], ms=3)
        ax.set_xticks(angles)
        ax.set_xticklabels(DIMENSIONS, fontsize=FONT - 1)
        ax.set_ylim(low, high)
        ax.set_yticks(np.round(np.linspace(low, high, 4)[1:], 2))  # few radial labels: they must not collide
        ax.tick_params(axis="y", labelsize=FONT - 2)
        ax.set_title(model, fontsize=FONT + 1)
        if ax.get_lines():
            first = first or ax
        else:
            ax.text(0, 0, "no judged scores", ha="center", fontsize=FONT)
    if first is not None:
        _legend(fig, first)
    return fig


def _grouped_bars(ax, analysis: Analysis, value: str, scale: float, ylabel: str) -> None:
    s = analysis.summary
    levels = analysis.study.levels
    models = analysis.study.models
    width = 0.8 / max(len(models), 1)
    colors = _colors(models)
    x = np.arange(len(levels))
    for i, model in enumerate(models):
        own = s[s["model"] == model].set_index("level").reindex(levels)
        point = own[value] * scale
        ax.bar(x + (i - (len(models) - 1) / 2) * width, point, width, label=model, color=colors[model],
               yerr=_err(point, own[f"{value}_low"] * scale, own[f"{value}_high"] * scale), capsize=2)
    ax.set_xticks(x)
    ax.set_xticklabels(levels)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def latency_energy_by_level(analysis: Analysis):
    fig = _figure(7.0, 3.6)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    if analysis.summary["latency_ms"].notna().any():
        _grouped_bars(left, analysis, "latency_ms", 1 / 1000, "mean latency (s)")
    else:
        _empty(left, "no latency measured")
    if analysis.summary["energy_j"].notna().any():
        _grouped_bars(right, analysis, "energy_j", 1.0, "mean energy per answer (J)")
    else:
        _empty(right, "energy not measured")
    _legend(fig, left)
    return fig


def quality_gain_vs_extra_energy(analysis: Analysis):
    fig = _figure()
    ax = fig.add_subplot()
    t = analysis.marginal
    energy = t["extra_energy_j"].notna().any()
    cost, scale, label = (("extra_energy_j", 1.0, f"extra energy per answer vs {analysis.study.baseline} (J)")
                          if energy else
                          ("extra_latency_ms", 1 / 1000, f"extra latency per answer vs {analysis.study.baseline} (s)"))
    t = t.dropna(subset=["quality_gain", cost])
    if t.empty:
        _empty(ax, "no paired quality differences to plot")
        return fig
    colors = _colors(analysis.study.models)
    for model, own in t.groupby("model", sort=False):
        x = own[cost] * scale
        ax.errorbar(x, own["quality_gain"], xerr=_err(x, own[f"{cost}_low"] * scale, own[f"{cost}_high"] * scale),
                    yerr=_err(own["quality_gain"], own["quality_gain_low"], own["quality_gain_high"]),
                    fmt="o", ms=4, capsize=2, color=colors[model], label=model)
        for r, xv in zip(own.itertuples(), x):
            ax.annotate(r.level, (xv, r.quality_gain), textcoords="offset points", xytext=(3, 3), fontsize=FONT - 1)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(label)
    ax.set_ylabel(f"quality gain vs {analysis.study.baseline} (points)")
    ax.margins(0.1)
    ax.grid(alpha=0.3)
    _legend(fig, ax)
    return fig


def quality_by_level(analysis: Analysis):
    """Dot plot: each level's mean quality with its CI, one panel per model, the padding level marked apart."""
    models = analysis.study.models
    cols = min(len(models), 3)
    rows = math.ceil(len(models) / cols)
    fig = _figure(2.4 * cols + 0.6, 2.4 * rows + 0.4)
    levels = analysis.study.levels
    colors = _colors(models)
    s = analysis.summary
    share = None
    for i, model in enumerate(models):
        ax = fig.add_subplot(rows, cols, i + 1, sharey=share)
        share = share or ax
        own = s[s["model"] == model].set_index("level").reindex(levels)
        x = np.arange(len(levels))
        for j, level in enumerate(levels):
            r = own.loc[level]
            if pd.isna(r["quality"]):
                continue
            padding = level == PADDING_LEVEL and j > 0
            ax.errorbar([x[j]], [r["quality"]], yerr=_err([r["quality"]], [r["quality_low"]], [r["quality_high"]]),
                        marker="D" if padding else "o", mfc="white" if padding else colors[model], ms=4, capsize=2,
                        color=colors[model], ls="none")
        ax.set_xticks(x)
        ax.set_xticklabels([f"{lvl}\nn={int(own.loc[lvl, 'n'])}" if pd.notna(own.loc[lvl, "n"]) else lvl
                            for lvl in levels], fontsize=FONT - 1)
        ax.set_title(model, fontsize=FONT + 1)
        ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.grid(axis="y", alpha=0.3)
        if i % cols == 0:
            ax.set_ylabel("mean quality (0-10)")
        if own["quality"].isna().all():
            ax.text(0.5, 0.5, "no judged scores", ha="center", va="center", transform=ax.transAxes, fontsize=FONT)
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
    """The matplotlib Figure of one plot (for rendering, or for checking its layout)."""
    return RENDERERS[name](analysis)


def _encode(fig, ext: str) -> bytes:
    buffer = io.BytesIO()
    if ext == "pdf":
        fig.savefig(buffer, format="pdf", metadata={"CreationDate": None})  # same inputs, same bytes
    else:
        fig.savefig(buffer, format=ext, dpi=PNG_DPI)
    return buffer.getvalue()


def render_figures(analysis: Analysis) -> Dict[str, Dict[str, bytes]]:
    """{name: {ext: bytes}} for every plot in every format of layout.PLOT_FORMATS."""
    out = {}
    for name in PLOTS:
        fig = figure(analysis, name)
        out[name] = {ext: _encode(fig, ext) for ext in PLOT_FORMATS}
    return out


def write_plots(analysis: Analysis, outdir, figures: Dict[str, Dict[str, bytes]] = None) -> List[Path]:
    figures = figures or render_figures(analysis)
    paths = []
    for name, encoded in figures.items():
        for ext, data in encoded.items():
            path = Path(outdir) / f"{name}.{ext}"
            with atomic_output(path, "wb", encoding=None) as fh:
                fh.write(data)
            paths.append(path)
    return paths


def build_plots(runs_path, scores_path, outdir, settings=None) -> List[Path]:
    """<outdir>/<name>.png and .pdf for every name in layout.PLOTS."""
    return write_plots(load_analysis(runs_path, scores_path, settings), outdir)
