"""Trade-offs, Pareto first: what each level's quality costs, and which configuration to pick.

- Per model, the Pareto front of (quality, energy) and of (quality, latency) over its levels, with each
  level's share of bootstrap resamples in which it is on the front (how sure its place is).
- The marginal cost of each level over the baseline: extra joules and milliseconds per extra quality point,
  with bootstrap CIs, always given (a gain whose CI includes 0 gives a cost per point without a bound).
- The recommendation rule of Q4: among the study-wide Pareto configurations, the cheapest whose mean
  quality is within `report.quality_margin` points of the best mean quality.
"""

from __future__ import annotations

import warnings
from typing import Dict, Optional

import numpy as np
import pandas as pd

from .stats import ModelData, nanmean, pareto_cost

COSTS = {"energy_j": "energy", "latency_ms": "latency"}
PARETO_COLUMNS = ["model", "level", "cost", "quality", "cost_value", "on_front", "front_share", "n"]
MARGINAL_COLUMNS = ["model", "level", "baseline", "n", "quality_gain", "quality_gain_low", "quality_gain_high",
                    "extra_energy_j", "extra_energy_j_low", "extra_energy_j_high", "extra_latency_ms",
                    "extra_latency_ms_low", "extra_latency_ms_high", "joules_per_point", "joules_per_point_low",
                    "joules_per_point_high", "ms_per_point", "ms_per_point_low", "ms_per_point_high", "note"]


def on_front(quality: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Pareto membership along the last axis (levels): not beaten on both quality (higher) and cost (lower).
    Works on (levels,) or (resamples, levels); a level with a missing value is not on the front."""
    q, c = quality[..., :, None], cost[..., :, None]
    qo, co = quality[..., None, :], cost[..., None, :]
    with np.errstate(invalid="ignore"):
        beaten = (co <= c) & (qo >= q) & ((co < c) | (qo > q))
    return ~beaten.any(axis=-1) & ~np.isnan(quality) & ~np.isnan(cost)


def pareto_table(datas: Dict[str, ModelData], summary: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for model, data in datas.items():
        n = summary[summary["model"] == model].set_index("level")["n"]
        quality, boot_quality = nanmean(data.quality), data.boot.means(data.quality)
        for cost, values in (("energy_j", data.energy), ("latency_ms", data.latency)):
            point = nanmean(values)
            if np.isnan(point).all() or np.isnan(quality).all():
                continue
            front = on_front(quality, point)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                share = on_front(boot_quality, data.boot.means(values)).mean(axis=0)
            for j, level in enumerate(data.levels):
                rows.append({"model": model, "level": level, "cost": cost, "quality": quality[j],
                             "cost_value": point[j], "on_front": bool(front[j]), "front_share": float(share[j]),
                             "n": int(n.get(level, 0))})
    return pd.DataFrame(rows, columns=PARETO_COLUMNS)


def _interval(data: ModelData, draws: np.ndarray, point: float, n: int):
    low, high = data.boot.interval(draws[:, None], np.array([point]), np.array([n]))
    return low[0], high[0]


def marginal_costs(datas: Dict[str, ModelData], confidence: float) -> pd.DataFrame:
    """Per model and level vs the baseline: paired mean differences of quality, energy and latency, and the
    extra joules and milliseconds per extra quality point (ratio of the mean differences) with CIs."""
    rows = []
    for model, data in datas.items():
        for j, level in enumerate(data.levels[1:], start=1):
            both = ~np.isnan(data.quality[:, j]) & ~np.isnan(data.quality[:, 0])
            row = {"model": model, "level": level, "baseline": data.levels[0], "n": int(both.sum())}
            diffs = {}
            for name, values in (("quality_gain", data.quality), ("extra_energy_j", data.energy),
                                 ("extra_latency_ms", data.latency)):
                column = (values[:, j] - values[:, 0])[:, None]
                point = float(nanmean(column)[0])
                draws = data.boot.means(column)[:, 0]
                diffs[name] = (point, draws)
                row[name] = point
                row[f"{name}_low"], row[f"{name}_high"] = _interval(data, draws, point, row["n"])
            gain, gain_draws = diffs["quality_gain"]
            for name, cost in (("joules_per_point", "extra_energy_j"), ("ms_per_point", "extra_latency_ms")):
                extra, extra_draws = diffs[cost]
                with np.errstate(invalid="ignore", divide="ignore"):
                    point = extra / gain if gain else np.nan
                    draws = extra_draws / gain_draws
                row[name] = point
                row[f"{name}_low"], row[f"{name}_high"] = _interval(data, np.where(np.isfinite(draws), draws, np.nan),
                                                                    point, row["n"])
            row["note"] = _marginal_note(row)
            if row["note"]:
                for name in ("joules_per_point", "ms_per_point"):
                    row[f"{name}_low"] = row[f"{name}_high"] = np.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=MARGINAL_COLUMNS)


def _marginal_note(row: dict) -> str:
    low, high = row["quality_gain_low"], row["quality_gain_high"]
    if np.isnan(row["quality_gain"]):
        return "no quality difference: no scores at both levels"
    if np.isnan(low) or low <= 0 <= high:
        return "the quality gain's CI includes 0 (or is missing): the cost per point has no bound"
    if row["quality_gain"] < 0:
        return "quality falls: the cost buys no gain"
    return ""


def recommend(summary: pd.DataFrame, margin: float) -> Optional[dict]:
    """The rule of Q4 over (model, level) configurations: among the study-wide Pareto front (cost: energy
    when measured, else latency), the cheapest whose mean quality is within `margin` points of the best mean
    quality (ties: the higher quality). None without scored configurations."""
    cost = pareto_cost(summary)
    scored = summary.dropna(subset=["quality", cost])
    if scored.empty:
        return None
    best = scored.loc[scored["quality"].idxmax()]
    front = scored[scored["pareto"] == True]  # noqa: E712 - object column holding True/False/None
    within = front[front["quality"] >= best["quality"] - margin]
    pick = within.sort_values([cost, "quality"], ascending=[True, False]).iloc[0]
    return {"pick": pick, "best": best, "cost": cost, "margin": margin, "candidates": within}
