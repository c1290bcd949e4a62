"""Decisions with their uncertainty: the configurations that cannot be told apart from the best.

A best level picked as the argmax of noisy means is a winner's curse: with every level truly equal one level
still "wins", and the share of resamples in which it wins says little. So every decision is a set:

- **Best-level set** (per model and metric), multiple comparisons with the best (Hsu) from the paired,
  question-clustered bootstrap (stats.Bootstrap: the same resampled questions for every level). For resampled
  means m*_j, the centred, studentized differences T*_jk = ((m*_k - m*_j) - (m_k - m_j)) / se_jk, se_jk the
  bootstrap SD of m*_k - m*_j; c = the (1 - alpha) quantile of max over ordered pairs of T*_jk. Level j is in
  the set unless some level k beats it by more than c * se_jk. The bound holds for all pairs at once, so the
  set holds every truly best level with probability about 1 - alpha whatever was selected; a single winner is
  named only when the set has one member (it is separated from every other level).
- **P(best)**: the share of resamples in which the level has the highest value: how stable the ranking is, not
  the probability that it is truly best (that needs a prior).
- **Plausible Pareto front** (per model and cost): a level is left out only when another level is better on
  quality and cheaper, both by more than their simultaneous bounds (the same max-t rule on each axis).
- **Q4's recommendation**: tradeoffs.recommend's rule applied to every resample of a bootstrap that draws the
  same questions for all models (they answer the same questions): the share of resamples in which the
  recommended configuration, and its model, win, and the runner-up model.
"""

from __future__ import annotations

import warnings
from typing import Dict, Optional

import numpy as np
import pandas as pd

from .stats import Bootstrap, ModelData, _ratio_ci, matrix, model_rng, nanmean
from .tradeoffs import on_front

RULE = ("multiple comparisons with the best: a configuration is left out only when another beats it by more "
        "than the simultaneous (max-t, question-clustered bootstrap) bound at the report's alpha")
SET_COLUMNS = ["model", "metric", "level", "estimate", "p_best", "gap_to_best", "gap_low", "in_set", "set",
               "winner", "set_size", "n", "rule"]
STABILITY_COLUMNS = ["model", "level", "wins_share", "model_wins_share", "recommended", "runner_up"]
METRICS = ("quality", "quality_per_joule", "quality_per_second")


def _pair_se(draws: np.ndarray) -> np.ndarray:
    """se[j, k]: bootstrap SD of draws_k - draws_j (levels x levels)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(draws[:, None, :] - draws[:, :, None], axis=0, ddof=1)


def critical_value(point: np.ndarray, draws: np.ndarray, alpha: float) -> tuple:
    """(c, se): the (1 - alpha) quantile of the largest centred, studentized pairwise difference over resamples,
    and the pairwise SDs. A pair whose difference never varies (se 0) adds nothing to the maximum."""
    se = _pair_se(draws)
    centred = (draws[:, None, :] - draws[:, :, None]) - (point[None, None, :] - point[None, :, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se > 0, centred / np.where(se > 0, se, 1.0), 0.0)
    levels = point.size
    off = ~np.eye(levels, dtype=bool)
    t = np.where(np.isnan(t), -np.inf, t)[:, off] if levels > 1 else np.zeros((len(draws), 1))
    largest = t.max(axis=1)
    largest = largest[np.isfinite(largest)]
    return (float(np.quantile(largest, 1 - alpha)) if largest.size else np.nan), se


def best_set(point: np.ndarray, draws: np.ndarray, alpha: float) -> dict:
    """The set of levels that cannot be told apart from the best (module docstring), for one model and metric.
    point: (levels,), draws: (resamples, levels); a level with no point estimate is never in the set."""
    point = np.asarray(point, dtype=float)
    usable = ~np.isnan(point)
    out = {"in_set": np.zeros(point.size, bool), "p_best": np.full(point.size, np.nan),
           "gap": np.full(point.size, np.nan), "gap_low": np.full(point.size, np.nan)}
    if not usable.any():
        return out
    p, d = point[usable], draws[:, usable]
    rows = ~np.isnan(d).any(axis=1)
    d = d[rows]
    if len(p) == 1 or not len(d):
        out["in_set"][usable] = True
        out["p_best"][usable] = 1.0 if len(p) == 1 else np.nan
        out["gap"][usable] = 0.0
        return out
    c, se = critical_value(p, d, alpha)
    # beaten[j]: some k exceeds j by more than c * se_jk (with se 0: by anything at all)
    excess = p[None, :] - p[:, None] - np.where(se > 0, c * se, 0.0)
    np.fill_diagonal(excess, -np.inf)
    beaten = (excess > 0).any(axis=1)
    best = int(np.argmax(p))
    wins = np.bincount(np.argmax(d, axis=1), minlength=len(p)) / len(d)
    out["in_set"][usable] = ~beaten
    out["p_best"][usable] = wins
    out["gap"][usable] = p[best] - p
    out["gap_low"][usable] = p[best] - p - np.where(se[:, best] > 0, c * se[:, best], 0.0)
    return out


def metric_draws(data: ModelData) -> Dict[str, tuple]:
    """(point, draws) of each metric a best level is chosen by, from the model's one bootstrap."""
    out = {"quality": (nanmean(data.quality), data.boot.means(data.quality))}
    for name, bottom, scale in (("quality_per_joule", data.energy, 1.0), ("quality_per_second", data.latency, 1e3)):
        (point, _, _), draws = _ratio_ci(data, data.quality, bottom, scale)
        out[name] = (point, draws)
    return out


def best_level_sets(datas: Dict[str, ModelData], summary: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row per (model, metric, level): estimate, P(best), gap to the best with its simultaneous lower bound,
    whether it is in the set, the set, and the single winner (only where the set has one member)."""
    rows = []
    for model, data in datas.items():
        n = summary[summary["model"] == model].set_index("level")["n"]
        for metric, (point, draws) in metric_draws(data).items():
            if np.isnan(point).all():
                continue
            found = best_set(point, draws, alpha)
            members = [lvl for lvl, keep in zip(data.levels, found["in_set"]) if keep]
            for j, level in enumerate(data.levels):
                rows.append({"model": model, "metric": metric, "level": level, "estimate": point[j],
                             "p_best": found["p_best"][j], "gap_to_best": found["gap"][j],
                             "gap_low": found["gap_low"][j], "in_set": bool(found["in_set"][j]),
                             "set": ", ".join(members), "winner": members[0] if len(members) == 1 else None,
                             "set_size": len(members), "n": int(n.get(level, 0)), "rule": RULE})
    return pd.DataFrame(rows, columns=SET_COLUMNS)


def with_sets(best: pd.DataFrame, sets: pd.DataFrame) -> pd.DataFrame:
    """The best_levels table with `<metric>_set` (levels that cannot be told apart from the best) and
    `<metric>_winner` (named only when separated) beside each metric's argmax."""
    best = best.copy()
    for metric in METRICS:
        own = sets[sets["metric"] == metric].drop_duplicates("model").set_index("model")
        best[f"{metric}_set"] = best["model"].map(own["set"]) if len(own) else None
        best[f"{metric}_winner"] = best["model"].map(own["winner"]) if len(own) else None
    return best


def plausible_front(datas: Dict[str, ModelData], pareto: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The pareto table with `plausible_front` (not surely dominated: no other level is better on quality and
    cheaper, each by more than its simultaneous bound) and `dominated_by` (the levels that surely dominate)."""
    pareto = pareto.copy()
    pareto["plausible_front"] = None
    pareto["dominated_by"] = None
    for model, data in datas.items():
        quality = nanmean(data.quality)
        q_draws = data.boot.means(data.quality)
        q_c, q_se = critical_value(quality, q_draws, alpha)
        for cost, values in (("energy_j", data.energy), ("latency_ms", data.latency)):
            rows = pareto.index[(pareto["model"] == model) & (pareto["cost"] == cost)]
            if not len(rows):
                continue
            # negated cost: "better" is higher on both axes, so one rule serves both
            point, draws = -nanmean(values), -data.boot.means(values)
            c_c, c_se = critical_value(point, draws, alpha)
            better_q = quality[None, :] - quality[:, None] > np.where(q_se > 0, q_c * q_se, 0.0)
            better_c = point[None, :] - point[:, None] > np.where(c_se > 0, c_c * c_se, 0.0)
            dominates = better_q & better_c  # [j, k]: k surely dominates j
            by_level = dict(zip(data.levels, range(len(data.levels))))
            for i in rows:
                j = by_level[pareto.at[i, "level"]]
                winners = [data.levels[k] for k in np.flatnonzero(dominates[j])]
                pareto.at[i, "plausible_front"] = not winners and not np.isnan(quality[j])
                pareto.at[i, "dominated_by"] = ", ".join(winners) or None
    return pareto


def _config_matrices(frame: pd.DataFrame, summary: pd.DataFrame, cost: str):
    """questions x configurations (model, level) of quality and cost, over the union of the models' questions."""
    used = frame[frame["in_analysis"]]
    questions = sorted(used["question_id"].unique().tolist())
    configs = list(zip(summary["model"], summary["level"]))
    columns = {"quality": [], cost: []}
    for model, level in configs:
        own = used[(used["model_id"] == model) & (used["level"] == level)]
        for name in columns:
            columns[name].append(matrix(own, name, questions, [level])[:, 0])
    return questions, configs, np.column_stack(columns["quality"]), np.column_stack(columns[cost])


def recommendation_stability(frame: pd.DataFrame, summary: pd.DataFrame, recommendation: Optional[dict],
                             samples: int, seed: int, confidence: float) -> pd.DataFrame:
    """Per configuration: the share of joint bootstrap resamples (the same questions for every model) in which
    Q4's rule (tradeoffs.recommend) picks it, and in which it picks its model; the recommended one and the
    runner-up model marked. Empty without a recommendation."""
    if recommendation is None:
        return pd.DataFrame(columns=STABILITY_COLUMNS)
    cost, margin = recommendation["cost"], recommendation["margin"]
    questions, configs, quality, costs = _config_matrices(frame, summary, cost)
    boot = Bootstrap(len(questions), samples, model_rng(seed, "recommendation (all models)"), confidence)
    q_draws, c_draws = boot.means(quality), boot.means(costs)
    with np.errstate(invalid="ignore"):
        front = on_front(q_draws, c_draws)
        best = np.nanmax(np.where(np.isnan(q_draws), -np.inf, q_draws), axis=1, keepdims=True)
        eligible = front & (q_draws >= best - margin)
    # the cheapest eligible configuration; ties go to the higher quality (as recommend does)
    order = np.where(eligible, c_draws - 1e-12 * q_draws, np.inf)
    picked = np.argmin(order, axis=1)[np.isfinite(order).any(axis=1)]
    wins = np.bincount(picked, minlength=len(configs)) / max(len(picked), 1)
    models = [m for m, _ in configs]
    model_wins = {m: float(sum(w for (mm, _), w in zip(configs, wins) if mm == m)) for m in dict.fromkeys(models)}
    pick = (recommendation["pick"]["model"], recommendation["pick"]["level"])
    others = {m: w for m, w in model_wins.items() if m != pick[0]}
    runner_up = max(others, key=others.get) if others else None
    rows = [{"model": m, "level": lvl, "wins_share": float(w), "model_wins_share": model_wins[m],
             "recommended": (m, lvl) == pick, "runner_up": m == runner_up}
            for (m, lvl), w in zip(configs, wins)]
    return pd.DataFrame(rows, columns=STABILITY_COLUMNS)


METRIC_WORDS = {"quality": "mean quality", "quality_per_joule": "ratio quality per joule",
                "quality_per_second": "ratio quality per second"}


def set_text(own: pd.DataFrame) -> str:
    """'L2 (P(best) 41%), L3 (38%)' for the members of one (model, metric) set, best first."""
    members = own[own["in_set"]].sort_values("estimate", ascending=False)
    return ", ".join(f"{r.level} ({100 * r.p_best:.0f}%)" for r in members.itertuples())


def decision_findings(study, sets: pd.DataFrame, stability: pd.DataFrame, pareto: Optional[pd.DataFrame] = None):
    """Q3: per model and metric, the set that cannot be told apart from the best (a winner only when
    separated), and per model and cost the plausible Pareto front; Q4: the recommendation's bootstrap
    stability and the runner-up model."""
    from .findings import Finding

    out = []
    for (model, cost), own in (pareto.groupby(["model", "cost"], sort=False) if pareto is not None else ()):
        plausible = own[own["plausible_front"] == True]  # noqa: E712 - object column holding True/False/None
        gone = own[own["plausible_front"] == False]  # noqa: E712
        text = (f"{model}: cannot be told apart from the Pareto front of quality vs "
                f"{'energy' if cost == 'energy_j' else 'latency'}: " + ", ".join(plausible["level"]) + "")
        text += ("; surely dominated: " + ", ".join(f"{r.level} (by {r.dominated_by})" for r in gone.itertuples())
                 if len(gone) else "; no level is surely dominated")
        out.append(Finding("Q3", model, None, text + "."))
    for (model, metric), own in sets.groupby(["model", "metric"], sort=False):
        winner = own["winner"].dropna()
        words = METRIC_WORDS[metric]
        if len(winner):
            text = (f"{model}, {words}: {winner.iloc[0]} is best and separated from every other level "
                    f"(P(best) {100 * own.loc[own['in_set'], 'p_best'].iloc[0]:.0f}% of resamples).")
        else:
            text = (f"{model}, {words}: no single best level; these cannot be told apart from the best "
                    f"(share of resamples in which each is best): {set_text(own)}.")
        out.append(Finding("Q3", model, winner.iloc[0] if len(winner) else None, text))
    if len(stability):
        pick = stability[stability["recommended"]].iloc[0]
        runner = stability[stability["runner_up"]]
        text = (f"Stability of the recommendation (the rule applied to {study.settings.bootstrap_samples} "
                f"bootstrap resamples of the questions, the same for every model): {pick['model']} at "
                f"{pick['level']} wins in {100 * pick['wins_share']:.0f}% of resamples, {pick['model']} at any "
                f"level in {100 * pick['model_wins_share']:.0f}%")
        if len(runner):
            text += (f"; runner-up model {runner['model'].iloc[0]} "
                     f"({100 * runner['model_wins_share'].iloc[0]:.0f}%)")
        text += "."
        if pick["model_wins_share"] < 0.9:
            text += " The choice of model is not settled by these data."
        out.append(Finding("Q4", str(pick["model"]), str(pick["level"]), text, float(pick["model_wins_share"])))
    return out
