"""Correctness as an outcome of its own, beside the seed's 0-10 total (which stays exactly as it is).

Where the judge was shown a reference answer it also says whether the answer's final result agrees with it
(`reference_match`, scores.py). Correctness is one of four rubric dimensions in the total, so a confident wrong
answer can outscore a correct rambling one; here it is reported on its own:

- per model x level: the share of answers (with a reference, in the analysis rows) whose result agrees, with
  a Wilson score interval (statsmodels proportion_confint: good coverage for shares near 0 or 1 and small n);
- the declared contrasts (contrasts.declared_contrasts: each level vs the baseline, padding vs the level it
  pads), paired by question: the difference of the shares with a question-clustered
  bootstrap CI (the model's own resample, stats.Bootstrap) and an exact McNemar test (statsmodels) where every
  pair is a single yes/no, else (a question's variants or repeats averaged) the exact sign-flip test of the mean
  difference (contrasts.sign_flip_test); Holm over all models x contrasts (the correctness family).

A study without any reference has no correctness table (and no sheet).
"""

from __future__ import annotations

import zlib
from typing import Dict, List

import numpy as np
import pandas as pd

from .stats import ModelData, matrix, paired_diff

RATE_COLUMNS = ["model", "level", "n", "matches", "rate", "rate_low", "rate_high", "questions"]
CONTRAST_COLUMNS = ["model", "contrast", "level", "reference", "estimate", "ci_low", "ci_high", "n", "test", "p_raw",
                    "p_adj", "family_size", "direction"]


def has_references(frame: pd.DataFrame) -> bool:
    return "reference_match" in frame and bool(frame.loc[frame["in_analysis"], "reference_match"].notna().any())


def wilson(matches: float, n: int, confidence: float):
    from statsmodels.stats.proportion import proportion_confint

    if not n:
        return np.nan, np.nan
    low, high = proportion_confint(matches, n, alpha=1 - confidence, method="wilson")
    return float(low), float(high)


def rates(frame: pd.DataFrame, models: List[str], levels: List[str], confidence: float) -> pd.DataFrame:
    """Per (model, level): answers with a reference (n), how many agree, the share and its Wilson interval."""
    used = frame[frame["in_analysis"] & frame["reference_match"].notna()]
    rows = []
    for model in models:
        for level in levels:
            own = used[(used["model_id"] == model) & (used["level"] == level)]["reference_match"]
            if own.empty:
                continue
            n, matches = int(own.size), float(own.sum())
            low, high = wilson(matches, n, confidence)
            rows.append({"model": model, "level": level, "n": n, "matches": matches, "rate": matches / n,
                         "rate_low": low, "rate_high": high,
                         "questions": int(used.loc[own.index, "question_id"].nunique())})
    return pd.DataFrame(rows, columns=RATE_COLUMNS)


def paired_test(diff: np.ndarray, level: np.ndarray, reference: np.ndarray, rng) -> tuple:
    """(test name, two-sided p) for per-question paired shares."""
    from statsmodels.stats.contingency_tables import mcnemar

    from .contrasts import sign_flip_test

    both = ~np.isnan(diff)
    a, b = level[both], reference[both]
    if both.sum() < 2:
        return "none (fewer than 2 pairs)", np.nan
    if np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all():
        table = [[np.sum((a == 1) & (b == 1)), np.sum((a == 0) & (b == 1))],
                 [np.sum((a == 1) & (b == 0)), np.sum((a == 0) & (b == 0))]]
        if table[0][1] + table[1][0] == 0:
            return "McNemar exact", 1.0
        return "McNemar exact", float(mcnemar(table, exact=True).pvalue)
    return "sign-flip (exact where 2^n is small)", sign_flip_test(diff[both], rng)


def contrasts(frame: pd.DataFrame, datas: Dict[str, ModelData], seed: int, alpha: float) -> pd.DataFrame:
    from .contrasts import declared_contrasts, holm

    rows = []
    for model, data in datas.items():
        if len(data.levels) < 2:
            continue
        own = frame[frame["model_id"] == model]
        values = matrix(own, "reference_match", data.questions, data.levels)
        for name, level, reference in declared_contrasts(data.levels):
            j, ref = data.levels.index(level), data.levels.index(reference)
            diff, estimate, low, high = paired_diff(data, values, j, ref)
            rng = np.random.default_rng([seed, zlib.crc32(f"{model}|{name}|correctness".encode("utf-8"))])
            test, p = paired_test(diff, values[:, j], values[:, ref], rng)
            rows.append({"model": model, "contrast": name, "level": level, "reference": reference, "estimate": estimate,
                         "ci_low": low, "ci_high": high, "n": int((~np.isnan(diff)).sum()), "test": test,
                         "p_raw": p})
    table = pd.DataFrame(rows, columns=CONTRAST_COLUMNS)
    if len(table):
        table["p_adj"], size = holm(table["p_raw"].tolist())
        table["family_size"] = size
        table["direction"] = [direction(e, p, alpha) for e, p in zip(table["estimate"], table["p_adj"])]
    return table


def direction(estimate: float, p_adj: float, alpha: float) -> str:
    """A non-significant difference is inconclusive, never "no difference"."""
    if p_adj != p_adj:
        return "not tested"
    if p_adj < alpha:
        return "better" if estimate > 0 else "worse"
    return "inconclusive"


def correctness_tables(frame: pd.DataFrame, datas: Dict[str, ModelData], models, levels, settings):
    """(rates, contrasts), or None when no answer in the analysis was graded against a reference."""
    if not has_references(frame):
        return None
    return (rates(frame, list(models), list(levels), settings.confidence),
            contrasts(frame, datas, settings.seed, settings.alpha))


def agreement_text(total: str, correct: str, total_diff: float) -> str:
    """How the 0-10 total's answer compares with correctness's (both as `direction` words)."""
    from .findings import num

    if total == correct:
        return f"The 0-10 total agrees ({total})."
    shown = f"{total} ({num(total_diff, sign=True)} points)"
    if "inconclusive" in (total, correct) or "not tested" in (total, correct):
        return (f"The two differ: the 0-10 total is {shown}, correctness {correct} (the total also grades "
                "helpfulness, structure and conciseness).")
    return (f"The two disagree: the 0-10 total is {shown} where correctness is {correct} (the total also grades "
            "helpfulness, structure and conciseness).")


def disagreement_findings(study, tests: pd.DataFrame, correct: pd.DataFrame):
    """Q1 for correctness, per model and level vs the baseline, and whether it agrees with the 0-10 total."""
    from .findings import Finding, ci, num, pval

    conf, alpha = study.settings.confidence, study.settings.alpha
    total = tests.set_index(["model", "contrast"]) if len(tests) else None
    out = []
    for r in correct.itertuples():
        text = (f"Correctness (answer's result agrees with the reference), {r.model} {r.contrast}: "
                f"{num(100 * r.estimate, 1, True)} percentage points "
                f"({ci(100 * r.ci_low, 100 * r.ci_high, conf, 1, True)}; n = {r.n} paired questions), "
                f"{r.test} {pval(r.p_adj)} (Holm over {r.family_size} correctness tests): {r.direction}.")
        if total is not None and (r.model, r.contrast) in total.index:
            t = total.loc[(r.model, r.contrast)]
            score = direction(t["quality_diff"], t["p_holm"], alpha)
            text += " " + agreement_text(score, r.direction, t["quality_diff"])
        out.append(Finding("Q1", r.model, r.level, text, r.estimate, r.ci_low, r.ci_high, r.p_adj))
    return out
