"""The declared paired contrasts, their tests and the family-wise correction.

Declared family, per metric (quality and each of the four dimensions): for every model, each level vs the
baseline (L1, L2, L3 vs L0) and the padding level vs the level it pads (P vs L3; P = L3 + padding, so this is
the effect of the padding alone). Estimate: the mean of the per-question differences, with a question-clustered
bootstrap CI. Test: a paired sign-flip permutation test of that same mean (under no effect, each question's
difference is as likely negative as positive), seeded. Holm's correction runs over the whole family of a
metric (all models x contrasts), and the family size is written beside every adjusted p-value.
"""

from __future__ import annotations

import warnings
import zlib
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

from .stats import SCORED, ModelData, paired_diff

PADDING_LEVEL = "P"  # the level that adds irrelevant padding to the level before it
PERMUTATIONS = 10_000  # sign-flip resamples (the test is exact when 2^n is not larger)
POWER = 0.8  # for the minimum detectable effect

Contrast = Tuple[str, str, str]  # (name, level, reference level)


def declared_contrasts(levels: Sequence[str]) -> List[Contrast]:
    """Each level vs the first (baseline); the padding level vs the level before it (when that is not the
    baseline already)."""
    if len(levels) < 2:
        return []
    baseline = levels[0]
    out = []
    for i, level in enumerate(levels[1:], start=1):
        reference = levels[i - 1] if level == PADDING_LEVEL and i > 1 else baseline
        out.append((f"{level} vs {reference}", level, reference))
    return out


def sign_flip_test(diff: np.ndarray, rng: np.random.Generator, resamples: int = PERMUTATIONS) -> float:
    """Two-sided p-value of the paired sign-flip permutation test of the mean difference: the share of sign
    patterns whose mean is at least as far from 0 as the observed one. Exact (every pattern) when 2^n is not
    larger than `resamples`, else `resamples` seeded patterns with the observed one counted (p > 0).
    Written out rather than scipy.stats.permutation_test: the same test, but about ten times faster here,
    which matters for the study's 80 tests per report; tests check it against a full enumeration."""
    diff = diff[~np.isnan(diff)]
    n = diff.size
    if n < 2:
        return np.nan
    if not np.any(diff != 0):
        return 1.0
    observed = abs(diff.mean()) * (1 - 1e-12)  # equal means must count as "at least as far"
    if 2 ** n <= resamples:
        signs = 1.0 - 2.0 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)
        return float(np.mean(np.abs(signs @ diff / n) >= observed))
    flips = rng.integers(0, 2, size=(resamples, n), dtype=np.int8)  # 1: flip the sign of that question
    means = (diff.sum() - 2.0 * (flips @ diff)) / n
    extreme = int(np.sum(np.abs(means) >= observed))
    return (extreme + 1) / (resamples + 1)


def holm(pvalues: Sequence[float]) -> Tuple[List[float], int]:
    """Holm-adjusted p-values via statsmodels over the finite p-values (NaN stays NaN) and the family size."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = ~np.isnan(p)
    if finite.any():
        adjusted[finite] = multipletests(p[finite], method="holm")[1]
    return adjusted.tolist(), int(finite.sum())


def contrast_rng(seed: int, model: str, contrast: str, metric: str) -> np.random.Generator:
    """One generator per test, independent of which other tests the study has."""
    return np.random.default_rng([seed, *(zlib.crc32(text.encode("utf-8")) for text in (model, contrast, metric))])


CONTRAST_COLUMNS = ["model", "contrast", "level", "reference", "metric", "estimate", "ci_low", "ci_high", "p_raw",
                    "p_adj", "family_size", "n", "effect_dz", "sd_diff", "significant"]


def contrast_table(datas: Dict[str, ModelData], contrasts: List[Contrast], seed: int, alpha: float,
                   metrics: Sequence[str] = SCORED) -> pd.DataFrame:
    """One row per (model, contrast, metric); Holm over all models x contrasts of each metric."""
    rows = []
    for model, data in datas.items():
        for name, level, reference in contrasts:
            if level not in data.levels or reference not in data.levels:
                continue
            j, ref = data.levels.index(level), data.levels.index(reference)
            for metric in metrics:
                diff, estimate, low, high = paired_diff(data, data.scored[metric], j, ref,
                                                        (data.noise or {}).get(metric))
                pairs = diff[~np.isnan(diff)]
                sd = float(np.std(pairs, ddof=1)) if pairs.size > 1 else np.nan
                rows.append({
                    "model": model, "contrast": name, "level": level, "reference": reference, "metric": metric,
                    "estimate": estimate, "ci_low": low, "ci_high": high, "n": int(pairs.size), "sd_diff": sd,
                    "effect_dz": estimate / sd if sd else np.nan,
                    "p_raw": sign_flip_test(pairs, contrast_rng(seed, model, name, metric)),
                })
    table = pd.DataFrame(rows, columns=CONTRAST_COLUMNS)
    for _metric, group in table.groupby("metric", sort=False):
        adjusted, size = holm(group["p_raw"].tolist())
        table.loc[group.index, "p_adj"] = adjusted
        table.loc[group.index, "family_size"] = size
    table["significant"] = table["p_adj"] < alpha
    table["significant"] = table["significant"].where(table["p_adj"].notna(), None)
    return table


def minimum_detectable_effect(contrasts: pd.DataFrame, alpha: float, power: float = POWER) -> dict:
    """The smallest true quality difference the study finds with the given power: a paired t-test power
    calculation (statsmodels) at the Bonferroni level alpha / family size (Holm's first step), with the
    median n and the median SD of the per-question differences over the quality contrasts."""
    from statsmodels.stats.power import TTestPower

    quality = contrasts[(contrasts["metric"] == "quality") & (contrasts["n"] > 2)].dropna(subset=["sd_diff"])
    if quality.empty:
        return {}
    n = int(quality["n"].median())
    sd = float(quality["sd_diff"].median())
    family = int(quality["family_size"].max())
    level = alpha / max(family, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dz = TTestPower().solve_power(effect_size=None, nobs=n, alpha=level, power=power, alternative="two-sided")
    return {"n": n, "sd_diff": sd, "family_size": family, "alpha": alpha, "power": power, "dz": float(dz),
            "points": float(dz) * sd}


LEVEL_TEST_COLUMNS = [
    "model", "contrast", "level", "baseline", "pairs", "quality_diff", "quality_diff_low", "quality_diff_high", "p",
    "p_holm", "family_size", "effect_dz", "latency_diff_ms", "latency_diff_ms_low", "latency_diff_ms_high",
    "energy_diff_j", "energy_diff_j_low", "energy_diff_j_high", "completion_diff", "completion_diff_low",
    "completion_diff_high", "raw_diff", "adjusted_diff", "adjusted_low", "adjusted_high", "adjusted_p",
    "adjusted_p_holm",
]


def level_tests(datas: Dict[str, ModelData], lengths: Dict[str, dict], contrasts: List[Contrast],
                table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row per (model, declared contrast) for quality: the test of the contrasts table, the paired cost
    differences of the same contrast, and the within-question length control (stats.length_controlled)."""
    quality = table[table["metric"] == "quality"].set_index(["model", "contrast"])
    rows = []
    for model, data in datas.items():
        length = lengths.get(model, {})
        for name, level, reference in contrasts:
            if (model, name) not in quality.index:
                continue
            q = quality.loc[(model, name)]
            j, ref = data.levels.index(level), data.levels.index(reference)
            row = {"model": model, "contrast": name, "level": level, "baseline": reference, "pairs": int(q["n"]),
                   "quality_diff": q["estimate"], "quality_diff_low": q["ci_low"], "quality_diff_high": q["ci_high"],
                   "p": q["p_raw"], "p_holm": q["p_adj"], "family_size": q["family_size"],
                   "effect_dz": q["effect_dz"]}
            for column, values in (("latency_diff_ms", data.latency), ("energy_diff_j", data.energy),
                                   ("completion_diff", data.completion)):
                _, row[column], row[f"{column}_low"], row[f"{column}_high"] = paired_diff(data, values, j, ref)
            row.update(length.get(name, {}))
            rows.append(row)
    tests = pd.DataFrame(rows, columns=LEVEL_TEST_COLUMNS)
    tests["adjusted_p_holm"] = holm(tests["adjusted_p"].tolist())[0] if len(tests) else []
    tests["significant"] = tests["p_holm"] < alpha
    tests["direction"] = [_direction(r, alpha) for r in tests.itertuples()]
    tests["length_verdict"] = [_length_verdict(r, alpha) for r in tests.itertuples()]
    return tests


def _direction(row, alpha: float) -> str:
    if np.isnan(row.p_holm):
        return "not tested"
    if row.p_holm < alpha:
        return "gain" if row.quality_diff > 0 else "loss"
    return "no significant difference"


def _length_verdict(row, alpha: float) -> str:
    if np.isnan(row.adjusted_p_holm) or np.isnan(row.p_holm):
        return "not estimated"
    raw, adjusted = row.p_holm < alpha, row.adjusted_p_holm < alpha
    if raw and adjusted and np.sign(row.adjusted_diff) == np.sign(row.quality_diff):
        return "persists at equal answer length"
    if raw:
        return "vanishes at equal answer length"
    if adjusted:
        return "appears only at equal answer length"
    return "no effect with or without length control"
