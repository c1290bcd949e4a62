"""The figure of the power modes: output tokens per joule and latency per model, one bar per mode (a study of
one mode: one bar per model). The numbers are modes.py's `by_model` (every level of the model, pooled). Drawn in
plots.py's one style: a panel only for what was measured, the legend below the panels."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .modes import MODE

PANELS = (("tokens_per_joule", 1.0, "output tokens per J"), ("latency_ms", 1 / 1000, "mean latency (s)"))


def _table(analysis):
    return analysis.modes.by_model if analysis.modes is not None else None


def _panels(analysis) -> list:
    table = _table(analysis)
    if table is None or table.empty:
        return []
    return [p for p in PANELS if table[p[0]].notna().any()]


def why_not_drawn(analysis) -> Optional[str]:
    """Why the figure has nothing to draw, or None (plots._why_not asks it)."""
    return None if _panels(analysis) else "no run has a measured latency or energy"


def power_modes_by_model(analysis):
    from matplotlib import colormaps

    from .plots import _err, _figure

    table = _table(analysis)
    panels = _panels(analysis)
    fig = _figure()
    models = list(dict.fromkeys(table["model"]))
    modes = analysis.modes.modes
    colors = colormaps["tab10"]
    width = 0.8 / max(len(modes), 1)
    x = np.arange(len(models))
    for k, (value, scale, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        for i, mode in enumerate(modes):
            own = table[table[MODE] == mode].set_index("model").reindex(models)
            point = own[value] * scale
            ax.bar(x + (i - (len(modes) - 1) / 2) * width, point, width, color=colors(i % 10),
                   label=mode or "mode not recorded",
                   yerr=_err(point, own[f"{value}_low"] * scale, own[f"{value}_high"] * scale), capsize=2)
        ax.set_xticks(x)
        ax.set_xticklabels(models)
        ax.set_ylabel(label)
        ax.grid(axis="x", visible=False)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=max(1, len(labels)), frameon=False)
    return fig
