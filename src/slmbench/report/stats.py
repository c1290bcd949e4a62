"""Statistics per model and level, all with uncertainty that respects the paired, per-question design.

- Means with percentile confidence intervals from a question-clustered bootstrap: questions are resampled
  (the same resample for every level of a model), so differences and ratios between levels keep their pairing.
- Friedman across levels; each level vs the baseline by paired Wilcoxon, Holm-corrected, with the matched-pairs
  rank-biserial correlation as effect size.
- A length-controlled estimate: OLS of quality on level dummies plus completion length, standard errors
  clustered by question, to separate "better prompt" from "longer answer flatters the judge".
- Judge-bias check: Spearman correlation of conciseness (and of the total) with answer length.
- Decode speed as a share of the memory-bandwidth roofline (bandwidth / model bytes) when the board is known.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

from .data import DIMENSIONS, Study

PERF = ["latency_ms", "ttft_ms", "prefill_tok_s", "decode_tok_s", "energy_j", "prompt_tokens", "completion_tokens"]
LENGTH_UNIT = 100  # the length coefficient is quality points per 100 completion tokens


def measured(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose measurements count: a failed run's timings and energy are not measurements of an answer."""
    frame = runs.copy()
    failed = frame["status"] != "ok"
    frame.loc[failed, PERF + ["energy_per_token_j", "energy_gross_j"]] = np.nan
    return frame


def model_rng(seed: int, model: str) -> np.random.Generator:
    """One generator per model, independent of which other models are in the study."""
    return np.random.default_rng([seed, zlib.crc32(model.encode("utf-8"))])


class Bootstrap:
    """Question-clustered bootstrap for one model: weights W (B x questions) = how often each question is drawn."""

    def __init__(self, n_questions: int, samples: int, rng: np.random.Generator, confidence: float):
        self.n = n_questions
        self.weights = rng.multinomial(n_questions, np.full(n_questions, 1 / n_questions), size=samples).astype(float)
        self.tails = [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]

    def means(self, matrix: np.ndarray) -> np.ndarray:
        """Bootstrap means of each column (B x columns), ignoring missing cells."""
        present = ~np.isnan(matrix)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.weights @ np.where(present, matrix, 0.0)) / (self.weights @ present)

    def interval(self, boot: np.ndarray, point: np.ndarray, counts: np.ndarray):
        """Percentile interval per column; none for a missing point estimate or fewer than two questions."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanpercentile(boot, self.tails, axis=0)
        unusable = np.isnan(point) | (counts < 2)
        return np.where(unusable, np.nan, low), np.where(unusable, np.nan, high)


def matrix(frame: pd.DataFrame, column: str, questions, levels) -> np.ndarray:
    """questions x levels values of one model (NaN where a run or value is missing)."""
    table = frame.pivot(index="question_id", columns="level", values=column)
    return table.reindex(index=questions, columns=levels).to_numpy(dtype=float)


def _nanmean(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=0)


@dataclass
class ModelData:
    """One model's per-question matrices and its bootstrap."""

    model: str
    questions: List[int]
    levels: List[str]
    quality: np.ndarray
    energy: np.ndarray
    latency: np.ndarray
    completion: np.ndarray
    boot: Bootstrap


def model_data(study: Study, frame: pd.DataFrame, model: str) -> ModelData:
    own = frame[frame["model_id"] == model]
    questions = sorted(own["question_id"].unique().tolist())
    levels = [lvl for lvl in study.levels if lvl in set(own["level"])]
    s = study.settings
    return ModelData(
        model=model, questions=questions, levels=levels,
        quality=matrix(own, "quality", questions, levels),
        energy=matrix(own, "energy_j", questions, levels),
        latency=matrix(own, "latency_ms", questions, levels),
        completion=matrix(own, "completion_tokens", questions, levels),
        boot=Bootstrap(len(questions), s.bootstrap_samples, model_rng(s.seed, model), s.confidence),
    )


def _ratio_ci(data: ModelData, top: np.ndarray, bottom: np.ndarray, scale: float = 1.0):
    """Ratio of means (top / bottom * scale) with its bootstrap interval."""
    boot = data.boot
    point = _nanmean(top) / _nanmean(bottom) * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = boot.means(top) / boot.means(bottom) * scale
    counts = np.minimum((~np.isnan(top)).sum(0), (~np.isnan(bottom)).sum(0))
    return (point, *boot.interval(draws, point, counts)), draws


def _mean_ci(data: ModelData, values: np.ndarray):
    point = _nanmean(values)
    return point, *data.boot.interval(data.boot.means(values), point, (~np.isnan(values)).sum(0))


def level_summary(study: Study, datas: Dict[str, ModelData], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, level): counts, means with CIs, efficiency."""
    grouped = frame.groupby(["model_id", "level"], sort=False)
    counts = grouped.agg(
        runs=("status", "size"),
        ok_runs=("status", lambda s: int((s == "ok").sum())),
        scored=("quality", "count"),
        parse_errors=("judge_status", lambda s: int((s == "parse_error").sum())),
        missing_scores=("judge_status", lambda s: int((s == "missing").sum())),
        energy_runs=("energy_j", "count"),
    )
    means = grouped[DIMENSIONS + PERF].mean()
    sums = frame.dropna(subset=["energy_j", "completion_tokens"]).groupby(["model_id", "level"])[
        ["energy_j", "completion_tokens"]].sum()
    rows = []
    for model, data in datas.items():
        quality = _mean_ci(data, data.quality)
        latency = _mean_ci(data, data.latency)
        energy = _mean_ci(data, data.energy)
        per_joule, _ = _ratio_ci(data, data.quality, data.energy)
        per_second, _ = _ratio_ci(data, data.quality, data.latency, scale=1000.0)
        for j, level in enumerate(data.levels):
            key = (model, level)
            row = {"model": model, "level": level, **counts.loc[key].to_dict(), **means.loc[key].to_dict()}
            row["error_runs"] = row["runs"] - row["ok_runs"]
            row["no_score"] = row["runs"] - row["scored"]
            for name, (point, low, high) in (("quality", quality), ("latency_ms", latency), ("energy_j", energy),
                                             ("quality_per_joule", per_joule), ("quality_per_second", per_second)):
                row[name], row[f"{name}_low"], row[f"{name}_high"] = point[j], low[j], high[j]
            total = sums.loc[key] if key in sums.index else None
            tokens = total["completion_tokens"] if total is not None else 0
            row["joules_per_token"] = total["energy_j"] / tokens if tokens else np.nan
            rows.append(row)
    table = pd.DataFrame(rows)
    table["pareto"] = pareto_front(table)
    return table


def pareto_cost(summary: pd.DataFrame) -> str:
    """Energy when any was measured, else latency: the cost axis of the Pareto front."""
    return "energy_j" if summary["energy_j"].notna().any() else "latency_ms"


def pareto_front(summary: pd.DataFrame) -> pd.Series:
    """True for (model, level) points no other point beats on both cost (lower) and quality (higher)."""
    cost = summary[pareto_cost(summary)].to_numpy(dtype=float)
    quality = summary["quality"].to_numpy(dtype=float)
    ok = ~np.isnan(cost) & ~np.isnan(quality)
    front = []
    for i in range(len(summary)):
        if not ok[i]:
            front.append(None)
            continue
        dominated = ok & (cost <= cost[i]) & (quality >= quality[i]) & ((cost < cost[i]) | (quality > quality[i]))
        front.append(not dominated.any())
    return pd.Series(front, index=summary.index, dtype=object)


def best_levels(study: Study, datas: Dict[str, ModelData], summary: pd.DataFrame) -> pd.DataFrame:
    """Per model, the level with the highest mean quality, quality per joule and quality per second,
    with its CI and the share of bootstrap resamples in which that level is best (how sure the pick is)."""
    rows = []
    for model, data in datas.items():
        own = summary[summary["model"] == model].set_index("level")
        row = {"model": model}
        candidates = {
            "quality": data.boot.means(data.quality),
            "quality_per_joule": _ratio_ci(data, data.quality, data.energy)[1],
            "quality_per_second": _ratio_ci(data, data.quality, data.latency, scale=1000.0)[1],
        }
        for metric, draws in candidates.items():
            values = own[metric].reindex(data.levels)
            if values.notna().any():
                best = values.idxmax()
                j = data.levels.index(best)
                usable = ~np.isnan(draws).all(axis=1)
                winners = np.nanargmax(np.where(np.isnan(draws[usable]), -np.inf, draws[usable]), axis=1)
                share = float((winners == j).mean()) if usable.any() else np.nan
                row.update({f"{metric}_level": best, metric: values[best],
                            f"{metric}_low": own.at[best, f"{metric}_low"],
                            f"{metric}_high": own.at[best, f"{metric}_high"], f"{metric}_sure": share})
            else:
                row.update({f"{metric}_level": None, metric: np.nan, f"{metric}_low": np.nan,
                            f"{metric}_high": np.nan, f"{metric}_sure": np.nan})
        rows.append(row)
    return pd.DataFrame(rows)


def rank_biserial(diff: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation: (R+ - R-) / (R+ + R-), zero differences dropped."""
    from scipy.stats import rankdata

    nonzero = diff[diff != 0]
    if nonzero.size == 0:
        return 0.0
    ranks = rankdata(np.abs(nonzero))
    return float((ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum()) / ranks.sum())


def wilcoxon(diff: np.ndarray):
    """(W, p) of the paired Wilcoxon signed-rank test; all-zero differences: no evidence of a difference."""
    from scipy.stats import wilcoxon as scipy_wilcoxon

    if diff.size == 0:
        return np.nan, np.nan
    if not np.any(diff != 0):
        return 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = scipy_wilcoxon(diff, zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def holm(pvalues: List[float]) -> List[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone); NaN stays NaN and is not counted."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(~np.isnan(p))
    m = finite.size
    running = 0.0
    for rank, i in enumerate(finite[np.argsort(p[finite], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def _paired_diff(data: ModelData, values: np.ndarray, j: int):
    """Mean of (level j - baseline) over questions with both, and its bootstrap interval."""
    diff = values[:, j] - values[:, 0]
    column = diff[:, None]
    point = _nanmean(column)
    low, high = data.boot.interval(data.boot.means(column), point, (~np.isnan(column)).sum(0))
    return diff, point[0], low[0], high[0]


def level_tests(study: Study, datas: Dict[str, ModelData], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, non-baseline level): paired differences vs the baseline and their tests."""
    rows = []
    for model, data in datas.items():
        if not data.levels or data.levels[0] != study.baseline:
            continue  # no baseline runs for this model: nothing to compare with
        length = length_controlled(frame[frame["model_id"] == model], data.levels)
        model_rows = []
        for j, level in enumerate(data.levels[1:], start=1):
            diff, mean, low, high = _paired_diff(data, data.quality, j)
            pairs = diff[~np.isnan(diff)]
            w, p = wilcoxon(pairs)
            row = {"model": model, "level": level, "baseline": study.baseline, "pairs": int(pairs.size),
                   "quality_diff": mean, "quality_diff_low": low, "quality_diff_high": high,
                   "wilcoxon_w": w, "p": p, "rank_biserial": rank_biserial(pairs) if pairs.size else np.nan}
            for name, values in (("latency_diff_ms", data.latency), ("energy_diff_j", data.energy),
                                 ("completion_diff", data.completion)):
                _, row[name], row[f"{name}_low"], row[f"{name}_high"] = _paired_diff(data, values, j)
            row.update(length.get(level, {}))
            model_rows.append(row)
        for row, adjusted in zip(model_rows, holm([r["p"] for r in model_rows])):
            row["p_holm"] = adjusted
        for row, adjusted in zip(model_rows, holm([r.get("adjusted_p", np.nan) for r in model_rows])):
            row["adjusted_p_holm"] = adjusted
        rows.extend(model_rows)
    table = pd.DataFrame(rows, columns=LEVEL_TEST_COLUMNS)
    alpha = study.settings.alpha
    table["significant"] = table["p_holm"] < alpha
    table["direction"] = [_direction(r, alpha) for r in table.itertuples()]
    table["length_verdict"] = [_length_verdict(r, alpha) for r in table.itertuples()]
    return table


LEVEL_TEST_COLUMNS = [
    "model", "level", "baseline", "pairs", "quality_diff", "quality_diff_low", "quality_diff_high", "wilcoxon_w",
    "p", "p_holm", "rank_biserial", "latency_diff_ms", "latency_diff_ms_low", "latency_diff_ms_high",
    "energy_diff_j", "energy_diff_j_low", "energy_diff_j_high", "completion_diff", "completion_diff_low",
    "completion_diff_high", "raw_diff", "adjusted_diff", "adjusted_low", "adjusted_high", "adjusted_p",
    "adjusted_p_holm",
]


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


def _cluster_ols(y: np.ndarray, x: np.ndarray, groups: np.ndarray):
    from statsmodels.regression.linear_model import OLS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})


def length_controlled(own: pd.DataFrame, levels: List[str]) -> Dict[str, dict]:
    """Per level: the raw OLS difference vs the baseline and the difference at equal completion length
    (quality ~ level + completion_tokens, SE clustered by question). Empty when it cannot be estimated."""
    data = own.dropna(subset=["quality", "completion_tokens"])
    if len(levels) < 2 or data["question_id"].nunique() < 3 or len(data) <= len(levels) + 1:
        return {}
    dummies = np.column_stack([(data["level"] == lvl).to_numpy(float) for lvl in levels[1:]])
    const = np.ones((len(data), 1))
    length = data["completion_tokens"].to_numpy(float)[:, None] / LENGTH_UNIT
    y = data["quality"].to_numpy(float)
    groups = pd.factorize(data["question_id"])[0]
    x_full = np.hstack([const, dummies, length])
    if np.linalg.matrix_rank(x_full) < x_full.shape[1]:
        return {}
    raw = _cluster_ols(y, np.hstack([const, dummies]), groups)
    full = _cluster_ols(y, x_full, groups)
    ci = np.asarray(full.conf_int())
    out = {}
    for i, level in enumerate(levels[1:], start=1):
        out[level] = {"raw_diff": raw.params[i], "adjusted_diff": full.params[i], "adjusted_low": ci[i, 0],
                      "adjusted_high": ci[i, 1], "adjusted_p": full.pvalues[i]}
    k = x_full.shape[1] - 1
    out["_length"] = {"length_coef": full.params[k], "length_low": ci[k, 0], "length_high": ci[k, 1],
                      "length_p": full.pvalues[k]}
    return out


def friedman(data: ModelData):
    """(chi2, p, Kendall's W, questions) over questions scored at every level; needs >= 3 levels."""
    from scipy.stats import friedmanchisquare

    complete = data.quality[~np.isnan(data.quality).any(axis=1)]
    n, k = complete.shape
    if k < 3 or n < 2:
        return np.nan, np.nan, np.nan, n
    if np.all(complete == complete[:, :1]):
        return 0.0, 1.0, 0.0, n  # every question scored the same at every level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chi2, p = friedmanchisquare(*complete.T)
    return float(chi2), float(p), float(chi2 / (n * (k - 1))), n


def spearman(x: pd.Series, y: pd.Series):
    from scipy.stats import spearmanr

    both = pd.concat([x, y], axis=1).dropna()
    if len(both) < 3 or both.iloc[:, 0].nunique() < 2 or both.iloc[:, 1].nunique() < 2:
        return np.nan, np.nan, len(both)
    rho, p = spearmanr(both.iloc[:, 0], both.iloc[:, 1])
    return float(rho), float(p), len(both)


def model_tests(study: Study, datas: Dict[str, ModelData], frame: pd.DataFrame) -> pd.DataFrame:
    """Per model (and all models pooled for the judge-bias check): Friedman, length coefficient, bias."""
    rows = []
    for model, data in datas.items():
        chi2, p, w, n = friedman(data)
        own = frame[frame["model_id"] == model]
        row = {"model": model, "levels": len(data.levels), "complete_questions": n,
               "friedman_chi2": chi2, "friedman_p": p, "kendall_w": w}
        row.update(length_controlled(own, data.levels).get("_length", {}))
        row.update(_bias(own))
        rows.append(row)
    if len(datas) > 1:
        rows.append({"model": "(all models)", **_bias(frame)})
    return pd.DataFrame(rows, columns=MODEL_TEST_COLUMNS)


MODEL_TEST_COLUMNS = [
    "model", "levels", "complete_questions", "friedman_chi2", "friedman_p", "kendall_w", "length_coef",
    "length_low", "length_high", "length_p", "conciseness_length_rho", "conciseness_length_p",
    "quality_length_rho", "quality_length_p", "bias_n",
]


def _bias(frame: pd.DataFrame) -> dict:
    scored = frame[frame["quality"].notna()]
    rho_c, p_c, n = spearman(scored["conciseness"], scored["completion_tokens"])
    rho_q, p_q, _ = spearman(scored["quality"], scored["completion_tokens"])
    return {"conciseness_length_rho": rho_c, "conciseness_length_p": p_c, "quality_length_rho": rho_q,
            "quality_length_p": p_q, "bias_n": n}


def board_bandwidth(device: Optional[str], table: dict):
    """(board, GB/s) of the longest table key found in the device string (case-insensitive), else (None, None)."""
    if not device:
        return None, None
    matches = [key for key in table if key.lower() in device.lower()]
    if not matches:
        return None, None
    key = max(matches, key=len)
    return key, float(table[key])


def roofline(study: Study, summary: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Decode tok/s as a share of bandwidth / model bytes (each token reads every weight once)."""
    sizes = study.settings.model_bytes()
    table = study.settings.memory_bandwidth_gb_s
    rows = []
    for model in study.models:
        own = frame[frame["model_id"] == model]
        device = _mode(own["device"])
        model_file = _mode(own["model_file"])
        board, bandwidth = board_bandwidth(device, table)
        size = sizes.get(model_file)
        ceiling = bandwidth * 1e9 / size if bandwidth and size else np.nan
        note = ""
        if board is None:
            note = f"board not in report.memory_bandwidth_gb_s (device: {device or 'unknown'})"
        elif not size:
            note = f"size of {model_file} unknown (no model facts file)"
        for r in summary[summary["model"] == model].itertuples():
            rows.append({"model": model, "level": r.level, "device": device, "board": board,
                         "bandwidth_gb_s": bandwidth, "model_bytes": size, "roofline_tok_s": ceiling,
                         "decode_tok_s": r.decode_tok_s, "roofline_share": r.decode_tok_s / ceiling,
                         "note": note})
    return pd.DataFrame(rows, columns=["model", "level", "device", "board", "bandwidth_gb_s", "model_bytes",
                                       "roofline_tok_s", "decode_tok_s", "roofline_share", "note"])


def _mode(values: pd.Series):
    values = values.dropna()
    return values.mode().iloc[0] if len(values) else None


def by_category(study: Study, frame: pd.DataFrame) -> pd.DataFrame:
    """Per (model, category, level): counts and plain means (10 questions per cell: no CI claimed)."""
    grouped = frame.groupby(["model_id", "category", "level"], sort=False)
    table = grouped.agg(runs=("status", "size"), scored=("quality", "count"), quality=("quality", "mean"),
                        latency_ms=("latency_ms", "mean"), energy_j=("energy_j", "mean"),
                        completion_tokens=("completion_tokens", "mean")).reset_index()
    table = table.rename(columns={"model_id": "model"})
    ranks = {
        "model": {name: i for i, name in enumerate(study.models)},
        "category": {name: i for i, name in enumerate(study.categories)},
        "level": {name: i for i, name in enumerate(study.levels)},
    }
    table = table.sort_values(["model", "category", "level"], key=lambda s: s.map(ranks[s.name]))
    return table.reset_index(drop=True)
