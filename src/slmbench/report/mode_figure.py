"""The figure of the power modes: output tokens per joule and latency per model, one bar per mode (a study of
one mode: one bar per model). The numbers are modes.py's `by_model` (every level of the model, pooled)."""

from __future__ import annotations

import numpy as np

from .modes import MODE


def power_modes_by_model(analysis):
    from .plots import FONT, _empty, _err, _figure, _legend

    table = analysis.modes.by_model if analysis.modes is not None else None
    fig = _figure(7.0, 3.6)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    if table is None or table.empty:
        _empty(left, "nothing measured")
        _empty(right, "nothing measured")
        return fig
    models = list(dict.fromkeys(table["model"]))
    modes = analysis.modes.modes
    width = 0.8 / max(len(modes), 1)
    x = np.arange(len(models))
    for ax, value, scale, label in ((left, "tokens_per_joule", 1.0, "output tokens per J"),
                                    (right, "latency_ms", 1 / 1000, "mean latency (s)")):
        if table[value].isna().all():
            _empty(ax, "energy not measured" if value == "tokens_per_joule" else "no latency measured")
            continue
        for i, mode in enumerate(modes):
            own = table[table[MODE] == mode].set_index("model").reindex(models)
            point = own[value] * scale
            ax.bar(x + (i - (len(modes) - 1) / 2) * width, point, width, label=mode or "mode not recorded",
                   yerr=_err(point, own[f"{value}_low"] * scale, own[f"{value}_high"] * scale), capsize=2)
        ax.set_xticks(x)
        ax.set_xticklabels(models, fontsize=FONT - 1)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    _legend(fig, left if table["tokens_per_joule"].notna().any() else right)
    return fig
