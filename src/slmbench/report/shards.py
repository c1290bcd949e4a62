"""Shard-aware intervals for energy and latency.

A shard (model x level x category) runs its questions back to back after one idle baseline, in one thermal
state: its runs share an offset, so they are not independent. Resampling questions as if they were makes the
energy and latency intervals too narrow (84 % coverage of a 95 % interval with a shard effect of sd 2 J). Here
the resample follows the design: draw categories (the shards of a model's levels share them, so a paired
difference keeps its pairing) with replacement, then questions within each drawn category with replacement.

With few categories (8 in the study) a percentile interval of so few clusters is too narrow, so the interval is
studentized (bootstrap-t): t* = (m* - m) / se*, se the cluster-robust standard error of the mean (each drawn
category one cluster), interval m - q(1-a/2) se .. m - q(a/2) se. The same studentized interval, with
questions as clusters, serves a study with a single category (no shard variance to resample). The method and
n are written beside every interval (`*_ci_method`). The judged metrics keep the question bootstrap: the
judge scores each answer on its own, so quality has no shard effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np
import pandas as pd

from .stats import ModelData, model_rng


@dataclass
class ShardBootstrap:
    """drawn: (resamples, clusters, largest cluster) question indices drawn within each drawn cluster (the
    cluster's size of them, with replacement; -1 pads a smaller cluster)."""

    drawn: np.ndarray
    groups: np.ndarray  # the cluster of each question
    clusters: int
    method: str
    confidence: float

    @classmethod
    def build(cls, categories: np.ndarray, samples: int, rng: np.random.Generator, confidence: float):
        """categories: one label per question (the model's question order)."""
        labels, groups = np.unique(np.asarray(categories, dtype=str), return_inverse=True)
        if len(labels) < 2:  # one shard per level: the questions are the clusters
            groups = np.arange(len(categories))
            method = "studentized question bootstrap (one category: shard variance not estimable)"
        else:
            method = f"studentized shard bootstrap ({len(labels)} categories, then questions within)"
        members = [np.flatnonzero(groups == g) for g in range(groups.max() + 1)] if len(groups) else []
        g = len(members)
        width = max((m.size for m in members), default=0)
        drawn = np.full((samples, g, width), -1, dtype=np.int64)
        which = rng.integers(0, g, size=(samples, g)) if g else np.zeros((samples, 0), int)
        for c, own in enumerate(members):
            picked = which == c
            count = int(picked.sum())
            drawn[picked, :own.size] = own[rng.integers(0, own.size, size=(count, own.size))]
        return cls(drawn, groups, g, method, confidence)

    def interval(self, values: np.ndarray):
        """(point, low, high) of the mean of `values` (per question, NaN where missing)."""
        present = ~np.isnan(values)
        n = int(present.sum())
        point = float(np.nanmean(values)) if n else np.nan
        if n < 2 or self.clusters < 2:
            return point, np.nan, np.nan
        x = np.append(np.where(present, values, 0.0), 0.0)  # index -1: the padding, worth nothing
        have = np.append(present.astype(float), 0.0)
        totals = x[self.drawn].sum(axis=2)  # (resamples, drawn clusters)
        counts = have[self.drawn].sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = totals.sum(1) / counts.sum(1)
            resid = totals - means[:, None] * counts
            se = np.sqrt(self.clusters / (self.clusters - 1) * (resid ** 2).sum(1)) / counts.sum(1)
            t = (means - point) / se
        se0 = _cluster_se(values, present, self.groups)
        t = t[np.isfinite(t)]
        if se0 == 0:  # every cluster has the same mean: nothing varies
            return point, point, point
        if not t.size or not np.isfinite(se0):
            return point, np.nan, np.nan
        a = (1 - self.confidence) / 2
        high_q, low_q = np.quantile(t, [1 - a, a])
        return point, point - high_q * se0, point - low_q * se0


def _cluster_se(values: np.ndarray, present: np.ndarray, groups: np.ndarray) -> float:
    """Cluster-robust SE of the mean on the original data, each cluster once."""
    x = np.where(present, values - np.nanmean(values), 0.0)
    sums = np.bincount(groups, weights=x)
    g = sums.size
    return float(np.sqrt(g / (g - 1) * (sums ** 2).sum()) / present.sum()) if g > 1 else np.nan


def shard_bootstraps(study, frame: pd.DataFrame, datas: Dict[str, ModelData]) -> Dict[str, ShardBootstrap]:
    s = study.settings
    out = {}
    for model, data in datas.items():
        own = frame[frame["model_id"] == model]
        category = own.groupby("question_id")["category"].first().reindex(data.questions).fillna("")
        out[model] = ShardBootstrap.build(category.to_numpy(), s.bootstrap_samples,
                                          model_rng(s.seed, f"{model}|shards"), s.confidence)
    return out


COSTS = (("energy_j", "energy"), ("latency_ms", "latency"))


def with_shard_cis(summary: pd.DataFrame, datas: Dict[str, ModelData], boots: Dict[str, ShardBootstrap]):
    """The level summary with energy and latency intervals from the shard bootstrap, and their method."""
    summary = summary.copy()
    for column, attr in COSTS:
        summary[f"{column}_ci_method"] = None
        for model, data in datas.items():
            values = getattr(data, attr)
            for j, level in enumerate(data.levels):
                i = summary.index[(summary["model"] == model) & (summary["level"] == level)]
                _, low, high = boots[model].interval(values[:, j])
                n = int((~np.isnan(values[:, j])).sum())
                summary.loc[i, [f"{column}_low", f"{column}_high"]] = [low, high]
                summary.loc[i, f"{column}_ci_method"] = f"{boots[model].method}; n = {n}" if n else None
    return summary


def contrast_interval(data: ModelData, boot: ShardBootstrap, values: np.ndarray, j: int, ref: int):
    """(estimate, low, high, n) of the paired mean difference level j - level ref, shard-aware."""
    diff = values[:, j] - values[:, ref]
    point, low, high = boot.interval(diff)
    return point, low, high, int((~np.isnan(diff)).sum())


def _with_shard_cis(table: pd.DataFrame, datas: Dict[str, ModelData], boots: Dict[str, ShardBootstrap],
                    columns: Dict[str, str], with_n: bool) -> pd.DataFrame:
    """`table` (one row per model, level and baseline) with each of `columns` ({column: ModelData attribute})
    given its shard-aware interval, and the method (with n when `with_n`) in `cost_ci_method`."""
    table = table.copy()
    table["cost_ci_method"] = None
    for i, r in table.iterrows():
        data, boot = datas[r["model"]], boots[r["model"]]
        j, ref = data.levels.index(r["level"]), data.levels.index(r["baseline"])
        for column, attr in columns.items():
            _, low, high, n = contrast_interval(data, boot, getattr(data, attr), j, ref)
            table.loc[i, [f"{column}_low", f"{column}_high"]] = [low, high]
        table.loc[i, "cost_ci_method"] = f"{boot.method}; n = {n}" if with_n else boot.method
    return table


def tests_with_shard_cis(tests: pd.DataFrame, datas: Dict[str, ModelData], boots: Dict[str, ShardBootstrap]):
    """The statistics table's latency and energy differences with shard-aware intervals and their method."""
    return _with_shard_cis(tests, datas, boots, {"latency_diff_ms": "latency", "energy_diff_j": "energy"}, True)


def marginal_with_shard_cis(marginal: pd.DataFrame, datas: Dict[str, ModelData], boots: Dict[str, ShardBootstrap]):
    """marginal_costs' extra joules and milliseconds with shard-aware intervals (the per-point ratios keep
    theirs: a ratio's interval needs the joint resample of both of its parts)."""
    return _with_shard_cis(marginal, datas, boots, {"extra_latency_ms": "latency", "extra_energy_j": "energy"},
                           False)

