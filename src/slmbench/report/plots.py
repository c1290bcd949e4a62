"""Plots (matplotlib, Agg, no pyplot state): PNG bytes for the workbook and files under <results>/plots/."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Dict, List

import numpy as np
import pandas as pd

from ..layout import PLOTS
from ..records import atomic_output
from .analysis import Analysis, load_analysis
from .data import DIMENSIONS
from .dataquality import energy_note

DPI = 110


def _figure(width: float = 8.0, height: float = 5.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _err(point: pd.Series, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Asymmetric error bars; a percentile interval may miss a ratio's point estimate, so clip at 0."""
    lower = (point - low).to_numpy(dtype=float)
    upper = (high - point).to_numpy(dtype=float)
    return np.clip(np.nan_to_num(np.vstack([lower, upper]), nan=0.0), 0, None)


def _colors(models: List[str]) -> Dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(models)}


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def _title(fig, analysis: Analysis, title: str) -> None:
    note = analysis.study.settings.demo_note
    fig.suptitle(title + ("\n" + _shorten(note, 110) if note else ""), fontsize=11)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quality_vs_prompt_tokens(analysis: Analysis) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    s = analysis.summary
    if s["quality"].notna().any():
        colors = _colors(analysis.study.models)
        for model, own in s.groupby("model", sort=False):
            ax.errorbar(own["prompt_tokens"], own["quality"], yerr=_err(own["quality"], own["quality_low"],
                        own["quality_high"]), marker="o", capsize=3, label=model, color=colors[model])
            for r in own.itertuples():
                if not (math.isnan(r.prompt_tokens) or math.isnan(r.quality)):
                    ax.annotate(r.level, (r.prompt_tokens, r.quality), textcoords="offset points", xytext=(4, 4),
                                fontsize=8)
        ax.set_xlabel("mean prompt tokens")
        ax.set_ylabel(f"mean quality (0-10), {analysis.study.settings.confidence:.0%} CI")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    else:
        _empty(ax, "no judged scores: quality cannot be plotted")
    _title(fig, analysis, "Quality vs prompt length, per model and level")
    return _png(fig)


def energy_quality_pareto(analysis: Analysis) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    s = analysis.summary.dropna(subset=["quality"])
    energy = analysis.summary["energy_j"].notna().any()
    cost, label = ("energy_j", "mean energy per answer (J)") if energy else ("latency_ms", "mean latency (ms)")
    s = s.dropna(subset=[cost])
    if s.empty:
        _empty(ax, "no (model, level) with both a quality score and a cost")
    else:
        colors = _colors(analysis.study.models)
        for model, own in s.groupby("model", sort=False):
            ax.scatter(own[cost], own["quality"], color=colors[model], label=model, zorder=3)
            for r in own.itertuples():
                ax.annotate(r.level, (getattr(r, cost), r.quality), textcoords="offset points", xytext=(4, 4),
                            fontsize=8)
        front = s[s["pareto"] == True].sort_values(cost)  # noqa: E712 - object column
        ax.step(front[cost], front["quality"], where="post", color="black", lw=1, ls="--", label="Pareto front")
        ax.set_xlabel(label)
        ax.set_ylabel("mean quality (0-10)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    title = "Energy vs quality with the Pareto front" if energy else (
        "Latency vs quality with the Pareto front (energy not measured)")
    _title(fig, analysis, title)
    if not energy:
        fig.text(0.01, 0.01, _shorten(energy_note(analysis.study), 150), fontsize=7)
    return _png(fig)


def dimensions_radar(analysis: Analysis) -> bytes:
    models = analysis.study.models
    cols = min(len(models), 3)
    rows = math.ceil(len(models) / cols)
    fig = _figure(4.2 * cols, 4.0 * rows + 0.6)
    angles = np.linspace(0, 2 * np.pi, len(DIMENSIONS), endpoint=False)
    closed = np.append(angles, angles[0])
    for i, model in enumerate(models):
        ax = fig.add_subplot(rows, cols, i + 1, projection="polar")
        own = analysis.summary[analysis.summary["model"] == model]
        for r in own.itertuples():
            values = np.array([getattr(r, d) for d in DIMENSIONS], dtype=float)
            if np.isnan(values).all():
                continue
            ax.plot(closed, np.append(values, values[0]), label=r.level, lw=1.2)
        ax.set_xticks(angles)
        ax.set_xticklabels(DIMENSIONS, fontsize=8)
        ax.set_ylim(0, 2.5)
        ax.set_title(model, fontsize=10)
        if ax.get_lines():
            ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.25, -0.1))
        else:
            ax.text(0, 0, "no judged scores", ha="center", fontsize=9)
    _title(fig, analysis, "Judge dimensions (0-2.5) per model and level")
    return _png(fig)


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
    ax.legend(fontsize=8)


def latency_energy_by_level(analysis: Analysis) -> bytes:
    fig = _figure(10, 4.5)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    if analysis.summary["latency_ms"].notna().any():
        _grouped_bars(left, analysis, "latency_ms", 1 / 1000, "mean latency (s)")
    else:
        _empty(left, "no latency measured")
    if analysis.summary["energy_j"].notna().any():
        _grouped_bars(right, analysis, "energy_j", 1.0, "mean energy per answer (J)")
    else:
        _empty(right, "energy not measured:\n" + _shorten(energy_note(analysis.study), 120))
    _title(fig, analysis, f"Latency and energy by level ({analysis.study.settings.confidence:.0%} CI)")
    return _png(fig)


def quality_gain_vs_extra_energy(analysis: Analysis) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    t = analysis.tests
    energy = t["energy_diff_j"].notna().any()
    cost, scale, label = (("energy_diff_j", 1.0, "extra energy per answer vs baseline (J)") if energy else
                          ("latency_diff_ms", 1 / 1000, "extra latency per answer vs baseline (s)"))
    t = t.dropna(subset=["quality_diff", cost])
    if t.empty:
        _empty(ax, "no paired quality differences to plot")
    else:
        colors = _colors(analysis.study.models)
        for model, own in t.groupby("model", sort=False):
            x = own[cost] * scale
            ax.errorbar(x, own["quality_diff"],
                        xerr=_err(x, own[f"{cost}_low"] * scale, own[f"{cost}_high"] * scale),
                        yerr=_err(own["quality_diff"], own["quality_diff_low"], own["quality_diff_high"]),
                        fmt="o", capsize=3, color=colors[model], label=model)
            for r, xv in zip(own.itertuples(), x):
                ax.annotate(r.level, (xv, r.quality_diff), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(label)
        ax.set_ylabel(f"quality gain vs {analysis.study.baseline} (points)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    _title(fig, analysis, "Quality gain vs extra " + ("joules" if energy else "latency (energy not measured)")
           + " per level")
    return _png(fig)


RENDERERS = {
    "quality_vs_prompt_tokens": quality_vs_prompt_tokens,
    "energy_quality_pareto": energy_quality_pareto,
    "dimensions_radar": dimensions_radar,
    "latency_energy_by_level": latency_energy_by_level,
    "quality_gain_vs_extra_energy": quality_gain_vs_extra_energy,
}
assert tuple(RENDERERS) == PLOTS  # names.PLOTS is what the workflow declares as outputs


def render_figures(analysis: Analysis) -> Dict[str, bytes]:
    return {name: RENDERERS[name](analysis) for name in PLOTS}


def write_plots(analysis: Analysis, outdir, figures: Dict[str, bytes] = None) -> List[Path]:
    figures = figures or render_figures(analysis)
    paths = []
    for name, png in figures.items():
        path = Path(outdir) / f"{name}.png"
        with atomic_output(path, "wb", encoding=None) as fh:
            fh.write(png)
        paths.append(path)
    return paths


def build_plots(runs_path, scores_path, outdir, settings=None) -> List[Path]:
    """PNG files <outdir>/<name>.png for every name in names.PLOTS."""
    return write_plots(load_analysis(runs_path, scores_path, settings), outdir)
