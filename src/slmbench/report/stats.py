"""Statistics per model and level, all with uncertainty that respects the paired, per-question design.

- One row set per comparison: the runs that ran and have a usable score (every mean, ratio and contrast of a
  (model, level) uses the same runs, and its n is written beside it). Before any score exists, the ok runs.
- Means with percentile confidence intervals from a question-clustered bootstrap: questions are resampled
  (the same resample for every level of a model), so differences and ratios between levels keep their pairing.
- The declared contrasts (contrasts.py) carry the tests; the mixed model (mixed.py) the omnibus level effect.
- A within-question length control: OLS of quality on level dummies, question fixed effects and completion
  length, standard errors clustered by question, to separate "better prompt" from "longer answer flatters the
  judge" without mixing in differences between questions.
- Judge-bias check within each model: Spearman correlation of conciseness (and of the total) with answer length.
- Decode speed as a share of the memory-bandwidth roofline (bandwidth / model bytes) when the board is known.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from .data import DIMENSIONS, Study

PERF = ["latency_ms", "ttft_ms", "prefill_tok_s", "decode_tok_s", "energy_j", "prompt_tokens", "completion_tokens"]
LENGTH_UNIT = 100  # the length coefficient is quality points per 100 completion tokens
SCORED = ["quality", *DIMENSIONS]  # the judged metrics: each gets means, CIs and the declared contrasts


def measured(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose measurements count: a failed run's timings and energy are not measurements of an answer."""
    frame = runs.copy()
    failed = frame["status"] != "ok"
    frame.loc[failed, PERF + ["energy_per_token_j", "energy_gross_j"]] = np.nan
    return frame


def uses_scored_rows(runs: pd.DataFrame) -> bool:
    """Once any run has a usable score, every comparison uses only runs with one (one row set, one n)."""
    return bool(runs["usable"].any()) if "usable" in runs else False


def analysis_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """The one row set behind every comparison: measurements and scores only of runs with a usable score
    (or of the ok runs while nothing is judged yet); other runs keep their row with NaN, so counts stay."""
    frame = measured(runs)
    keep = frame["usable"] if uses_scored_rows(frame) else frame["status"] == "ok"
    frame.loc[~keep, PERF + ["energy_per_token_j", "energy_gross_j", *SCORED]] = np.nan
    if "reference_match" in frame:
        frame.loc[~keep, "reference_match"] = np.nan
    frame["in_analysis"] = keep
    return frame


def row_set_note(runs: pd.DataFrame) -> str:
    frame = analysis_rows(runs)
    n = int(frame["in_analysis"].sum())
    if uses_scored_rows(runs):
        return (f"every comparison uses the same {n} of {len(runs)} runs: those that ran and have a usable score "
                "(judge status ok, total = sum of the dimensions); n beside each number counts them.")
    return f"no run has a usable score yet: latency and energy use the {n} runs that ran (status ok)."


def model_rng(seed: int, model: str) -> np.random.Generator:
    """One generator per model, independent of which other models are in the study."""
    return np.random.default_rng([seed, zlib.crc32(model.encode("utf-8"))])


SMALL_SAMPLE = 50  # below this many questions the percentile interval is expanded (Bootstrap.tails_for)


class Bootstrap:
    """Question-clustered bootstrap for one model: weights W (B x questions) = how often each question is drawn."""

    def __init__(self, n_questions: int, samples: int, rng: np.random.Generator, confidence: float):
        self.n = n_questions
        self.weights = rng.multinomial(n_questions, np.full(n_questions, 1 / n_questions), size=samples).astype(float)
        self.tails = [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]
        self.confidence = confidence

    def tails_for(self, n: int) -> list:
        """Percentile tails for a statistic of n questions. Below SMALL_SAMPLE the percentile interval is too
        narrow (it uses the plug-in SD and the normal quantile: 95 % intervals cover about 93 % at 40 questions,
        90 % at 10), so it is expanded (Hesterberg 2015): the tails are moved to where the normal quantile
        equals sqrt(n / (n - 1)) times Student's t quantile on n - 1 df."""
        if n >= SMALL_SAMPLE or n < 2:
            return self.tails
        from scipy.stats import norm, t

        a = (1 - self.confidence) / 2
        moved = float(norm.sf(np.sqrt(n / (n - 1)) * t.ppf(1 - a, n - 1)))
        return [moved * 100, (1 - moved) * 100]

    def means(self, matrix: np.ndarray, noise: Optional["Noise"] = None) -> np.ndarray:
        """Bootstrap means of each column (B x columns), ignoring missing cells. `noise`: judge noise, the
        deviation of each resample's re-drawn verdicts from a run's mean (judge_noise), added cell by cell."""
        present = ~np.isnan(matrix)
        total = self.weights @ np.where(present, matrix, 0.0)
        for q, column, deviation in noise or ():
            if present[q, column]:
                total[:, column] += self.weights[:, q] * deviation
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / (self.weights @ present)

    def interval(self, boot: np.ndarray, point: np.ndarray, counts: np.ndarray):
        """Percentile interval per column (expanded below SMALL_SAMPLE questions: tails_for); none for a missing
        point estimate or fewer than two questions."""
        counts = np.broadcast_to(np.asarray(counts), np.shape(point))
        low, high = np.full(np.shape(point), np.nan), np.full(np.shape(point), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for n in np.unique(counts):
                columns = counts == n
                low[columns], high[columns] = np.nanpercentile(boot[:, columns], self.tails_for(int(n)), axis=0)
        unusable = np.isnan(point) | (counts < 2)
        return np.where(unusable, np.nan, low), np.where(unusable, np.nan, high)


# Judge noise of one metric: (question index, level index, deviation per resample) for each run with 2 or
# more verdicts (judge.repeat_fraction, judge.repeats, several judges).
Noise = List[Tuple[int, int, np.ndarray]]


def judge_noise(own: pd.DataFrame, questions, levels, samples: int, rng: np.random.Generator) -> Dict[str, Noise]:
    """Per scored metric: for every run in the analysis with several verdicts, each bootstrap resample draws
    that many of its verdicts with replacement; the deviation of their mean from the run's mean (the point
    estimate) is added inside the resample, so the intervals carry judge noise where repeats exist."""
    noise: Dict[str, Noise] = {name: [] for name in SCORED}
    if "repeat_verdicts" not in own:
        return {}
    q_index = {q: i for i, q in enumerate(questions)}
    l_index = {lvl: j for j, lvl in enumerate(levels)}
    # a cell averages its question's variants (matrix): one variant's deviation moves the cell by 1/variants
    variants = own.groupby(["question_id", "level"])[SCORED].count()
    for row in own[own["repeat_verdicts"].notna() & own["quality"].notna()].itertuples():
        if row.question_id not in q_index or row.level not in l_index:
            continue
        for name in SCORED:
            values = np.asarray(row.repeat_verdicts["total_score" if name == "quality" else name], dtype=float)
            if len(values) < 2:
                continue
            draws = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
            share = 1.0 / max(1, int(variants.at[(row.question_id, row.level), name]))
            noise[name].append((q_index[row.question_id], l_index[row.level], (draws - values.mean()) * share))
    return {name: entries for name, entries in noise.items() if entries}


def matrix(frame: pd.DataFrame, column: str, questions, levels) -> np.ndarray:
    """questions x levels values of one model (NaN where a run or value is missing). With prompt variants a
    cell is the mean of the question's variants that have a value: the question stays the unit every paired
    statistic and the bootstrap resample (variants are nested in it, not independent questions)."""
    table = frame.groupby(["question_id", "level"], sort=False)[column].mean().unstack("level")
    return table.reindex(index=questions, columns=levels).to_numpy(dtype=float)


def nanmean(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=0)


@dataclass
class ModelData:
    """One model's per-question matrices (questions x levels, from the analysis rows) and its bootstrap."""

    model: str
    questions: List[int]
    levels: List[str]
    scored: Dict[str, np.ndarray]  # quality and the four dimensions
    energy: np.ndarray
    latency: np.ndarray
    completion: np.ndarray
    boot: Bootstrap
    noise: Dict[str, Noise] = None  # judge noise per scored metric (judge_noise); empty without repeats

    @property
    def quality(self) -> np.ndarray:
        return self.scored["quality"]


def model_data(study: Study, frame: pd.DataFrame, model: str) -> ModelData:
    """frame: analysis_rows(study.runs)."""
    own = frame[frame["model_id"] == model]
    questions = sorted(own["question_id"].unique().tolist())
    levels = [lvl for lvl in study.levels if lvl in set(own["level"])]
    s = study.settings
    return ModelData(
        model=model, questions=questions, levels=levels,
        scored={name: matrix(own, name, questions, levels) for name in SCORED},
        energy=matrix(own, "energy_j", questions, levels),
        latency=matrix(own, "latency_ms", questions, levels),
        completion=matrix(own, "completion_tokens", questions, levels),
        boot=Bootstrap(len(questions), s.bootstrap_samples, model_rng(s.seed, model), s.confidence),
        noise=judge_noise(own, questions, levels, s.bootstrap_samples, model_rng(s.seed, f"{model}|judge-noise")),
    )


def _ratio_ci(data: ModelData, top: np.ndarray, bottom: np.ndarray, scale: float = 1.0):
    """Ratio of means (top / bottom * scale) with its bootstrap interval."""
    boot = data.boot
    point = nanmean(top) / nanmean(bottom) * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = boot.means(top) / boot.means(bottom) * scale
    counts = np.minimum((~np.isnan(top)).sum(0), (~np.isnan(bottom)).sum(0))
    return (point, *boot.interval(draws, point, counts)), draws


def _mean_ci(data: ModelData, values: np.ndarray, noise: Optional[Noise] = None):
    point = nanmean(values)
    return point, *data.boot.interval(data.boot.means(values, noise), point, (~np.isnan(values)).sum(0))


def level_summary(study: Study, datas: Dict[str, ModelData], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, level): counts over all runs; means, CIs and ratios over the analysis rows (n)."""
    counts = study.runs.groupby(["model_id", "level"], sort=False).agg(
        runs=("status", "size"),
        ok_runs=("status", lambda s: int((s == "ok").sum())),
        scored=("quality", "count"),
        parse_errors=("judge_status", lambda s: int((s == "parse_error").sum())),
        missing_scores=("judge_status", lambda s: int((s == "missing").sum())),
        total_mismatch=("total_mismatch", "sum"),
    )
    used = frame[frame["in_analysis"]]
    grouped = used.groupby(["model_id", "level"], sort=False)
    means = grouped[DIMENSIONS + PERF].mean()
    n = grouped.size()
    # correctness: the share of answers whose final result agrees with the reference, over those with one
    matches = (grouped["reference_match"].agg(["mean", "count"]) if "reference_match" in used
               else pd.DataFrame(columns=["mean", "count"]))
    energy_n = grouped["energy_j"].count()
    sums = used.dropna(subset=["energy_j", "completion_tokens"]).groupby(["model_id", "level"])[
        ["energy_j", "completion_tokens"]].sum()
    rows = []
    for model, data in datas.items():
        estimates = {name: _mean_ci(data, data.scored[name], (data.noise or {}).get(name)) for name in SCORED}
        estimates["latency_ms"] = _mean_ci(data, data.latency)
        estimates["energy_j"] = _mean_ci(data, data.energy)
        estimates["quality_per_joule"] = _ratio_ci(data, data.quality, data.energy)[0]
        estimates["quality_per_second"] = _ratio_ci(data, data.quality, data.latency, scale=1000.0)[0]
        for j, level in enumerate(data.levels):
            key = (model, level)
            row = {"model": model, "level": level, **counts.loc[key].to_dict()}
            row.update(means.loc[key].to_dict() if key in means.index else {})
            row["n"] = int(n.get(key, 0))
            row["reference_match"] = matches.at[key, "mean"] if key in matches.index else np.nan
            row["reference_match_n"] = int(matches.at[key, "count"]) if key in matches.index else 0
            row["energy_runs"] = int(energy_n.get(key, 0))
            row["total_mismatch"] = int(row["total_mismatch"])
            row["error_runs"] = row["runs"] - row["ok_runs"]
            row["no_score"] = row["runs"] - row["scored"]
            for name, (point, low, high) in estimates.items():
                row[name], row[f"{name}_low"], row[f"{name}_high"] = point[j], low[j], high[j]
            total = sums.loc[key] if key in sums.index else None
            tokens = total["completion_tokens"] if total is not None else 0
            # net (prefill + decode) energy per completion token: not energy_per_token_j (decode energy only)
            row["energy_total_per_token_j"] = total["energy_j"] / tokens if tokens else np.nan
            rows.append(row)
    table = pd.DataFrame(rows)
    table["pareto"] = pareto_front(table)
    return table


def pareto_cost(summary: pd.DataFrame) -> str:
    """Energy when any was measured, else latency: the cost axis of the study-wide Pareto front."""
    return "energy_j" if summary["energy_j"].notna().any() else "latency_ms"


def pareto_front(summary: pd.DataFrame, cost_column: Optional[str] = None) -> pd.Series:
    """True for (model, level) points no other point beats on both cost (lower) and quality (higher)."""
    cost = summary[cost_column or pareto_cost(summary)].to_numpy(dtype=float)
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
    """Per model, the level with the highest mean quality, and the highest ratios quality per joule and per
    second (ratios of means, shown as the study asks; a 0-10 score has no true zero, so they rank cost more
    than value), with CIs and the share of bootstrap resamples in which that level is best."""
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
                            f"{metric}_high": own.at[best, f"{metric}_high"], f"{metric}_sure": share,
                            f"{metric}_n": own.at[best, "n"]})
            else:
                row.update({f"{metric}_level": None, metric: np.nan, f"{metric}_low": np.nan,
                            f"{metric}_high": np.nan, f"{metric}_sure": np.nan, f"{metric}_n": np.nan})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_diff(data: ModelData, values: np.ndarray, j: int, ref: int, noise: Optional[Noise] = None):
    """Per-question differences (level j - level ref), their mean over questions with both, and its CI (with
    the judge noise of either level's verdicts inside it, where given)."""
    diff = values[:, j] - values[:, ref]
    column = diff[:, None]
    point = nanmean(column)
    moved = [(q, 0, dev if col == j else -dev) for q, col, dev in noise or () if col in (j, ref)]
    low, high = data.boot.interval(data.boot.means(column, moved), point, (~np.isnan(column)).sum(0))
    return diff, point[0], low[0], high[0]


def _cluster_ols(y: np.ndarray, x: np.ndarray, groups: np.ndarray):
    from statsmodels.regression.linear_model import OLS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})


def length_controlled(own: pd.DataFrame, levels: List[str], contrasts) -> Dict[str, dict]:
    """Within-question length control, per declared contrast (name, level, reference): the difference with
    question fixed effects (raw_diff), and at equal completion length (quality ~ level + question + length,
    SE clustered by question). Key "_length": the length coefficient. Empty when it cannot be estimated."""
    data = own.dropna(subset=["quality", "completion_tokens"])
    data = data[data["level"].isin(levels)]
    questions = sorted(data["question_id"].unique().tolist())
    if len(levels) < 2 or len(questions) < 3:
        return {}
    level_dummies = np.column_stack([(data["level"] == lvl).to_numpy(float) for lvl in levels[1:]])
    question_dummies = np.column_stack([(data["question_id"] == q).to_numpy(float) for q in questions[1:]])
    const = np.ones((len(data), 1))
    length = data["completion_tokens"].to_numpy(float)[:, None] / LENGTH_UNIT
    y = data["quality"].to_numpy(float)
    groups = pd.factorize(data["question_id"])[0]
    x_raw = np.hstack([const, level_dummies, question_dummies])
    x_full = np.hstack([x_raw, length])
    if len(data) <= x_full.shape[1] or np.linalg.matrix_rank(x_full) < x_full.shape[1]:
        return {}
    raw = _cluster_ols(y, x_raw, groups)
    full = _cluster_ols(y, x_full, groups)
    out = {}
    for name, level, reference in contrasts:
        if level not in levels or reference not in levels:
            continue
        weights = np.zeros(x_full.shape[1])
        if levels.index(level):
            weights[levels.index(level)] += 1.0
        if levels.index(reference):
            weights[levels.index(reference)] -= 1.0
        test = full.t_test(weights)
        low, high = np.asarray(test.conf_int()).ravel()
        out[name] = {"raw_diff": float(weights[:-1] @ raw.params), "adjusted_diff": float(np.ravel(test.effect)[0]),
                     "adjusted_low": low, "adjusted_high": high, "adjusted_p": float(np.ravel(test.pvalue)[0])}
    k = x_full.shape[1] - 1
    ci = np.asarray(full.conf_int())
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


def model_tests(study: Study, datas: Dict[str, ModelData], frame: pd.DataFrame,
                lengths: Dict[str, dict]) -> pd.DataFrame:
    """Per model: Friedman (secondary), the within-question length coefficient, the judge-length check.
    With several models, a "(within models)" row: the length check on ranks taken within each model, so
    differences between models (one writes longer and better answers) do not pass for a judge bias."""
    rows = []
    for model, data in datas.items():
        chi2, p, w, n = friedman(data)
        own = frame[frame["model_id"] == model]
        row = {"model": model, "levels": len(data.levels), "complete_questions": n,
               "friedman_chi2": chi2, "friedman_p": p, "kendall_w": w}
        row.update(lengths.get(model, {}).get("_length", {}))
        row.update(_bias(own))
        rows.append(row)
    if len(datas) > 1:
        rows.append({"model": WITHIN_MODELS, **_bias(_within_model_ranks(frame))})
    return pd.DataFrame(rows, columns=MODEL_TEST_COLUMNS)


WITHIN_MODELS = "(within models)"
MODEL_TEST_COLUMNS = [
    "model", "levels", "complete_questions", "friedman_chi2", "friedman_p", "kendall_w", "length_coef",
    "length_low", "length_high", "length_p", "conciseness_length_rho", "conciseness_length_p",
    "quality_length_rho", "quality_length_p", "bias_n",
]


def _within_model_ranks(frame: pd.DataFrame) -> pd.DataFrame:
    """Scored runs with quality, conciseness and length replaced by their ranks within the model, centred on
    the model's mean rank: a Spearman correlation of these is the pooled within-model correlation."""
    scored = frame[frame["quality"].notna()].copy()
    for column in ("quality", "conciseness", "completion_tokens"):
        ranks = scored.groupby("model_id")[column].rank()
        scored[column] = ranks - ranks.groupby(scored["model_id"]).transform("mean")
    return scored


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
