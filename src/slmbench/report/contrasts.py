"""The declared paired contrasts, their tests and the family-wise correction.

Declared family, per metric (quality and each of the four dimensions): for every model, each level vs the
baseline (L1, L2, L3 vs L0), the padding level vs the level it pads (P vs L3; P = L3 + padding, so this is
the effect of the padding alone) and the successive contrasts (L2 vs L1, L3 vs L2: the levels are cumulative,
so each says what its own addition buys). Estimate: the mean of the per-question differences, with a question-clustered
bootstrap CI. Test: a paired sign-flip permutation test of that same mean (under no effect, each question's
difference is as likely negative as positive), seeded. Holm's correction runs over the whole family of a
metric (all models x contrasts), and the family size is written beside every adjusted p-value.

"No effect" is never read from a non-significant test: each contrast also gets a TOST equivalence test against
the declared margin (report.equivalence_margin; two one-sided paired t-tests, Holm over the same family) and a
verdict, "better", "worse", "equivalent within ±m" or "inconclusive", with its minimum detectable effect (the
true difference its sign-flip test finds with 80 % power in a Holm family of that size, the other contrasts null,
by simulation; mde_alpha states Holm's most stringent level, alpha / family size; times the observed SD of that
contrast's per-question differences).
"""

from __future__ import annotations

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
    baseline already); then each non-padding level vs the level before it (successive; not repeated where that
    is the baseline)."""
    if len(levels) < 2:
        return []
    baseline = levels[0]
    out = []
    for i, level in enumerate(levels[1:], start=1):
        reference = levels[i - 1] if level == PADDING_LEVEL and i > 1 else baseline
        out.append((f"{level} vs {reference}", level, reference))
    for i, level in enumerate(levels[2:], start=2):
        if level != PADDING_LEVEL and levels[i - 1] != PADDING_LEVEL:
            out.append((f"{level} vs {levels[i - 1]}", level, levels[i - 1]))
    return out


def tost_p(pairs: np.ndarray, margin: float) -> float:
    """p-value of the two one-sided paired t-tests (TOST) of |true mean difference| < margin: the larger of
    the two one-sided p-values; NaN with fewer than two pairs."""
    from scipy.stats import ttest_1samp

    if pairs.size < 2:
        return np.nan
    if not np.any(pairs != pairs[0]):  # no spread: the mean is known exactly
        return 0.0 if abs(pairs[0]) < margin else 1.0
    lower = ttest_1samp(pairs, -margin, alternative="greater").pvalue
    upper = ttest_1samp(pairs, margin, alternative="less").pvalue
    return float(max(lower, upper))


def verdict(estimate: float, p_adj: float, tost_adj: float, alpha: float, margin: float) -> str:
    """The answer of one contrast: a Holm-significant difference is better or worse; else a Holm-significant
    TOST says equivalent within the margin; else inconclusive (never "no difference")."""
    if p_adj != p_adj:  # NaN: not testable (fewer than two pairs)
        return "not tested"
    if p_adj < alpha:
        return "better" if estimate > 0 else "worse"
    if tost_adj == tost_adj and tost_adj < alpha:
        return f"equivalent within ±{margin:g}"
    return "inconclusive"


def detectable_dz(n: int, family: int, alpha: float, power: float = POWER) -> float:
    """The d_z the family's sign-flip tests find with `power` in one contrast (the rest null), by simulation
    (report/plan.py): a paired t-test power formula at alpha / family is optimistic for the sign-flip test."""
    from .plan import detectable_dz as simulated

    return simulated(n, family, alpha, power)


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
                    "p_adj", "family_size", "n", "effect_dz", "sd_diff", "significant", "tost_p_raw", "tost_p_adj",
                    "equivalence", "mde", "mde_alpha"]
EQUIVALENCE_MARGIN = 0.5  # quality points (report.equivalence_margin's default)


def contrast_table(datas: Dict[str, ModelData], contrasts: List[Contrast], seed: int, alpha: float,
                   metrics: Sequence[str] = SCORED, margin: float = EQUIVALENCE_MARGIN) -> pd.DataFrame:
    """One row per (model, contrast, metric); Holm over all models x contrasts of each metric, for the test of
    a difference and for the equivalence test (margin: quality points)."""
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
                    "tost_p_raw": tost_p(pairs, margin),
                })
    table = pd.DataFrame(rows, columns=CONTRAST_COLUMNS)
    for _metric, group in table.groupby("metric", sort=False):
        adjusted, size = holm(group["p_raw"].tolist())
        table.loc[group.index, "p_adj"] = adjusted
        table.loc[group.index, "family_size"] = size
        table.loc[group.index, "tost_p_adj"] = holm(group["tost_p_raw"].tolist())[0]
    table["significant"] = table["p_adj"] < alpha
    table["significant"] = table["significant"].where(table["p_adj"].notna(), None)
    table["equivalence"] = [verdict(r.estimate, r.p_adj, r.tost_p_adj, alpha, margin) for r in table.itertuples()]
    table["mde_alpha"] = alpha / table["family_size"].clip(lower=1)
    dz = {}  # d_z depends only on (n, family): simulated once per pair (~0.2 s)
    for key in {(int(r.n), int(r.family_size)) for r in table.itertuples() if r.family_size == r.family_size}:
        dz[key] = detectable_dz(*key, alpha)
    table["mde"] = [dz[(int(r.n), int(r.family_size))] * r.sd_diff if r.family_size == r.family_size else np.nan
                    for r in table.itertuples()]
    return table


def minimum_detectable_effect(contrasts: pd.DataFrame, alpha: float, power: float = POWER) -> dict:
    """The smallest true quality difference the study finds with the given power: the family's sign-flip test
    at the median n, simulated (detectable_dz; Holm's most stringent level is alpha / family size), times the
    median SD of the per-question differences over the quality contrasts."""
    quality = contrasts[(contrasts["metric"] == "quality") & (contrasts["n"] > 2)].dropna(subset=["sd_diff"])
    if quality.empty:
        return {}
    n = int(quality["n"].median())
    sd = float(quality["sd_diff"].median())
    family = int(quality["family_size"].max())
    dz = detectable_dz(n, max(family, 1), alpha, power)
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
    verdicts = quality["equivalence"].to_dict()
    tests["direction"] = [verdicts.get((r.model, r.contrast), "not tested") for r in tests.itertuples()]
    tests["mde"] = [quality["mde"].get((r.model, r.contrast), np.nan) for r in tests.itertuples()]
    tests["length_verdict"] = [_length_verdict(r, alpha) for r in tests.itertuples()]
    return tests


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
    return "not significant with or without length control (inconclusive, not evidence of no effect)"
