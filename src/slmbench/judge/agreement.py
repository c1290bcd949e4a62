"""How repeatable are the verdicts? Krippendorff's alpha (interval) across repeats of one judge, and Spearman's
rho and linearly weighted Cohen's kappa between two judges, on total_score."""

from __future__ import annotations

from typing import Dict, List

import numpy as np


def krippendorff_alpha_interval(units: List[List[float]]) -> float:
    """Alpha for interval data; each unit holds the values its raters gave (units with < 2 values are skipped)."""
    pairable = [np.asarray(u, dtype=float) for u in units if len(u) >= 2]
    n = sum(len(u) for u in pairable)
    if n < 2:
        return float("nan")
    observed = sum(((u[:, None] - u[None, :]) ** 2).sum() / (len(u) - 1) for u in pairable) / n
    values = np.concatenate(pairable)
    expected = ((values[:, None] - values[None, :]) ** 2).sum() / (n * (n - 1))
    return 1.0 if expected == 0 else float(1 - observed / expected)


def weighted_kappa(a: np.ndarray, b: np.ndarray, step: float = 0.5) -> float:
    """Linearly weighted Cohen's kappa on scores in half points."""
    cats = np.unique(np.concatenate([a, b]))
    if len(cats) < 2:
        return float("nan")
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    observed = np.zeros((k, k))
    for x, y in zip(a, b):
        observed[index[x], index[y]] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(1), observed.sum(0))
    weights = np.abs(np.subtract.outer(cats, cats)) / (cats.max() - cats.min())
    return float(1 - (weights * observed).sum() / (weights * expected).sum())


def agreement(rows: List[dict]) -> Dict[str, float]:
    """rows: score rows with judge_status, total_score, judge_name (the configured judge), repeat, model_id, level,
    question_id."""
    from scipy.stats import spearmanr

    ok = [r for r in rows if r.get("judge_status") == "ok" and r.get("total_score") not in (None, "")]
    result: Dict[str, float] = {}
    by_judge: Dict[str, Dict[tuple, List[float]]] = {}
    for r in ok:
        item = (r["model_id"], r["level"], int(r["question_id"]))
        by_judge.setdefault(r.get("judge_name") or r["judge_model"], {}).setdefault(item, []).append(float(r["total_score"]))
    for judge, items in by_judge.items():
        if any(len(v) >= 2 for v in items.values()):
            result[f"alpha_repeats[{judge}]"] = krippendorff_alpha_interval(list(items.values()))
    judges = sorted(by_judge)
    for i, first in enumerate(judges):
        for second in judges[i + 1:]:
            common = sorted(set(by_judge[first]) & set(by_judge[second]))
            if len(common) >= 3:
                a = np.array([np.mean(by_judge[first][c]) for c in common])
                b = np.array([np.mean(by_judge[second][c]) for c in common])
                result[f"spearman[{first}|{second}]"] = float(spearmanr(a, b).statistic)
                result[f"weighted_kappa[{first}|{second}]"] = weighted_kappa(np.round(a * 2) / 2, np.round(b * 2) / 2)
    return result
