"""Shard noise: how much a whole shard's energy and latency move when the shard is measured again.

A shard's runs share more than their model and level: one idle baseline (re-measured before the shard), one
thermal state, one load of the model. Resampling questions as if they were independent ignores that. A seeded few
shards are measured a second time (inference.shard_repeats); the two runs of a shard ask the same questions, so
the question effects cancel in the difference of their shard means d, and

    E[d^2] / 2 = var(shard) + var(run) / n

where var(run) is the noise of one run repeated inside its shard (the timing repeats measure it: the same prompt
again, same shard, fresh context) and n the questions compared. The shard component is what a question-level
bootstrap misses.
"""

from __future__ import annotations

import math
from typing import List, Optional

import pandas as pd

SHARD = ["model_id", "level", "category", "power_mode_id"]
OUTCOMES = (("energy_j", "J"), ("latency_ms", "ms"))


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[frame["status"] == "ok"].copy()
    if "power_mode_id" not in frame:
        frame["power_mode_id"] = -1
    frame["power_mode_id"] = frame["power_mode_id"].fillna(-1)
    return frame


def shard_noise(runs: pd.DataFrame, shard_repeats: Optional[pd.DataFrame],
                timing_repeats: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """One row per outcome: repeated shards, questions per shard, the sd of a shard mean between its two runs, the
    run noise inside a shard (timing repeats) and the shard component left when that is taken out."""
    rows = []
    if shard_repeats is None or not len(shard_repeats):
        return pd.DataFrame(rows)
    first, second = _ok(runs), _ok(shard_repeats)
    key = SHARD + ["question_id", "variant"]
    for outcome, unit in OUTCOMES:
        pairs = first[key + [outcome]].merge(second[key + [outcome]], on=key, suffixes=("_1", "_2")).dropna()
        if pairs.empty:
            continue
        means = pairs.groupby(SHARD)[[f"{outcome}_1", f"{outcome}_2"]].agg(["mean", "size"])
        d = means[(f"{outcome}_2", "mean")] - means[(f"{outcome}_1", "mean")]
        n = float(means[(f"{outcome}_1", "size")].mean())
        between = float((d ** 2).mean() / 2)
        run_var = _run_variance(first, timing_repeats, outcome)
        shard_var = max(0.0, between - run_var / n) if run_var is not None else None
        rows.append({"outcome": outcome, "unit": unit, "repeated_shards": int(len(d)), "questions_per_shard": n,
                     "mean_difference": float(d.mean()), "sd_shard_mean_between_runs": math.sqrt(between),
                     "sd_run_within_shard": math.sqrt(run_var) if run_var is not None else None,
                     "sd_shard": math.sqrt(shard_var) if shard_var is not None else None})
    return pd.DataFrame(rows)


def _run_variance(runs: pd.DataFrame, timing_repeats: Optional[pd.DataFrame], outcome: str) -> Optional[float]:
    """Variance of one run repeated inside its shard (half the mean squared difference of a timing repeat and its
    scored run), or None without timing repeats."""
    if timing_repeats is None or not len(timing_repeats):
        return None
    key = SHARD + ["question_id", "variant"]
    pairs = runs[key + [outcome]].merge(_ok(timing_repeats)[key + [outcome]], on=key, suffixes=("_1", "_2")).dropna()
    if pairs.empty:
        return None
    return float(((pairs[f"{outcome}_2"] - pairs[f"{outcome}_1"]) ** 2).mean() / 2)


def shard_noise_lines(table: pd.DataFrame) -> List[str]:
    """One sentence per outcome, for the data-quality notes and validation.txt."""
    lines = []
    for row in table.itertuples():
        unit = row.unit
        text = (f"{row.outcome}: {row.repeated_shards} shard(s) measured twice ({row.questions_per_shard:.0f} "
                f"questions each): a shard mean moves by sd {row.sd_shard_mean_between_runs:.4g} {unit} between "
                f"its two runs (mean change {row.mean_difference:+.4g} {unit})")
        if row.sd_shard is not None and not pd.isna(row.sd_shard):
            text += (f"; with the run noise inside a shard (sd {row.sd_run_within_shard:.4g} {unit}, timing "
                     f"repeats) taken out, the shard's own sd is {row.sd_shard:.4g} {unit}")
        lines.append(text)
    return lines
