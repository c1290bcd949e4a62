"""How far can the verdicts be trusted? ICC(2,1) and Krippendorff's alpha (interval) across the repeats of one
judge (judge.repeats, judge.repeat_fraction), and
Spearman's rho and linearly weighted Cohen's kappa between judges, on the total and on each dimension.
Only ok verdicts take part; an answer counts where at least two verdicts (or both judges) exist."""

from __future__ import annotations

import csv
import math
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List

import numpy as np

from ..records import REQUIRED_KEY, atomic_output
from ..scores import SCORES, read_score_rows

AGREEMENT_COLUMNS = ["measure", "score", "judge", "other_judge", "value", "n_answers", "note"]


def krippendorff_alpha_interval(units: List[List[float]]) -> float:
    """Alpha for interval data; each unit holds the values its raters gave (units with < 2 values are skipped).

    Written here rather than taken from the `krippendorff` package: it is the textbook formula in a few lines
    of numpy, it takes units with different numbers of values as they come (a repeat whose verdict failed is
    simply absent, where the package wants a raters x units matrix padded with NaN), and it returns 1.0 when
    every value is the same (the package raises). tests/test_judge_agreement.py checks it against the
    package on random data, so the two cannot drift apart.
    """
    pairable = [np.asarray(u, dtype=float) for u in units if len(u) >= 2]
    n = sum(len(u) for u in pairable)
    if n < 2:
        return float("nan")
    observed = sum(((u[:, None] - u[None, :]) ** 2).sum() / (len(u) - 1) for u in pairable) / n
    values = np.concatenate(pairable)
    expected = ((values[:, None] - values[None, :]) ** 2).sum() / (n * (n - 1))
    return 1.0 if expected == 0 else float(1 - observed / expected)


def icc_2_1(ratings: np.ndarray) -> float:
    """ICC(2,1) of Shrout & Fleiss (1979): two-way random effects, absolute agreement, one rater; `ratings` is
    answers x raters (here: repeats), complete. From the two-way ANOVA mean squares:
    (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n). Written with numpy (pingouin is not a dependency);
    tests check it against a worked example. NaN below 2 answers or 2 raters, 1.0 when every value is equal."""
    x = np.asarray(ratings, dtype=float)
    n, k = x.shape if x.ndim == 2 else (0, 0)
    if n < 2 or k < 2:
        return float("nan")
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_error = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    msr, msc, mse = ss_rows / (n - 1), ss_cols / (k - 1), ss_error / ((n - 1) * (k - 1))
    denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    if denominator == 0:
        return 1.0 if np.ptp(x) == 0 else float("nan")
    return float((msr - mse) / denominator)


def _repeat_matrix(answers: Dict[tuple, Dict[int, float]]) -> np.ndarray:
    """answers x 2: the first and the second verdict (lowest two repeat indices) of each answer that has two."""
    pairs = [[v[i] for i in sorted(v)[:2]] for v in answers.values() if len(v) >= 2]
    return np.array(pairs, dtype=float).reshape(-1, 2)


def weighted_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Linearly weighted Cohen's kappa (statsmodels); the categories are the values seen (half points), weighted
    by their distance on the score scale. NaN when fewer than two values were seen (kappa is undefined)."""
    from statsmodels.stats.inter_rater import cohens_kappa, to_table

    pairs = np.column_stack([a, b])
    categories = np.unique(pairs)  # to_table numbers the categories in this (sorted) order
    if len(categories) < 2:
        return float("nan")
    table, _ = to_table(pairs)
    return float(cohens_kappa(table, weights=categories, wt="linear", return_results=False))


def _by_judge(rows: List[dict], score: str, by_repeat: bool = False) -> Dict[str, Dict[tuple, list]]:
    found: Dict[str, Dict[tuple, list]] = {}
    for r in rows:
        if r.get("judge_status") != "ok" or r.get(score) in (None, ""):
            continue
        value = r[score]
        if isinstance(value, float) and math.isnan(value):
            continue
        answer = (r["model_id"], r["level"], int(r["question_id"]), int(r.get("variant") or 0))
        judge = r.get("judge_name") or r.get("judge_model") or "judge"
        if by_repeat:
            repeat = r.get("repeat")
            repeat = 0 if repeat in (None, "") or (isinstance(repeat, float) and math.isnan(repeat)) else int(repeat)
            found.setdefault(judge, {}).setdefault(answer, {})[repeat] = float(value)
        else:
            found.setdefault(judge, {}).setdefault(answer, []).append(float(value))
    return found


def agreement(rows: List[dict]) -> List[dict]:
    """One row per measure, score and judge (pair); `rows` are score rows as in the merged scores."""
    from scipy.stats import spearmanr

    result: List[dict] = []
    for score in SCORES:
        by_judge = _by_judge(rows, score)
        for judge, answers in sorted(by_judge.items()):
            units = [v for v in answers.values() if len(v) >= 2]
            if units:
                result.append({"measure": "krippendorff_alpha_repeats", "score": score, "judge": judge,
                               "value": krippendorff_alpha_interval(units), "n_answers": len(units)})
                repeated = _repeat_matrix(_by_judge(rows, score, by_repeat=True)[judge])
                if len(repeated) >= 2:
                    result.append({"measure": "icc_2_1_repeats", "score": score, "judge": judge,
                                   "value": icc_2_1(repeated), "n_answers": len(repeated)})
        judges = sorted(by_judge)
        for i, first in enumerate(judges):
            for second in judges[i + 1:]:
                common = sorted(set(by_judge[first]) & set(by_judge[second]))
                if len(common) < 3:
                    continue
                a = np.array([np.mean(by_judge[first][c]) for c in common])
                b = np.array([np.mean(by_judge[second][c]) for c in common])
                pair = {"score": score, "judge": first, "other_judge": second, "n_answers": len(common)}
                rho = float(spearmanr(a, b).statistic) if np.ptp(a) and np.ptp(b) else float("nan")
                result.append({"measure": "spearman_rho", "value": rho, **pair})
                # means over repeats are rounded back to half points: kappa needs the rubric's categories
                kappa = weighted_kappa(np.round(a * 2) / 2, np.round(b * 2) / 2)
                result.append({"measure": "weighted_kappa_linear", "value": kappa, **pair})
    for row in result:
        if isinstance(row["value"], float) and math.isnan(row["value"]):
            row["value"] = None
            row["note"] = "undefined: every verdict compared was the same value"
    if not result:
        result.append({"measure": "none", "note": "nothing to compare: one judge with one verdict per answer; set "
                                                  "judge.repeat_fraction > 0 (or judge.repeats >= 2) or add "
                                                  "judge.judges"})
    return result


def write_agreement(scores_csv, out_csv) -> Path:
    # a verdict needs only its run and status here; a score column it lacks counts as no score
    rows = [asdict(r) for r in read_score_rows(scores_csv, required=(*REQUIRED_KEY, "judge_status"))]
    with atomic_output(out_csv) as fh:
        writer = csv.DictWriter(fh, fieldnames=AGREEMENT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in agreement(rows):
            value = row.get("value")
            writer.writerow({**row, "value": None if value is None else round(value, 4)})
    return Path(out_csv)
