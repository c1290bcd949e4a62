"""The power mode in the reports (jetson.power_modes): what a study of several modes shows per mode.

Computed once per report build from the analysis rows (stats.analysis_rows: the same runs behind every other
comparison) and kept on the Analysis (`analysis.modes`):

- `summary`: per (model, level, mode): n, mean quality, latency, energy, TTFT, decode tok/s, and output tokens
  per joule (completion tokens / net energy of the whole answer, a ratio of means), each with a
  question-clustered bootstrap CI; `by_model`: the same per (model, mode) over all levels (the figure).
- `mixed`: for latency and energy, the mixed model of mixed.py with a mode term,
  metric ~ level * model + mode * model + (1 | question), and two likelihood-ratio tests: the mode effect
  (against metric ~ level * model) and the mode x level interaction (adding mode:level).
- `contrasts`: per (model, level), every mode against the reference mode (the lowest nvpmodel id: MAXN on
  JetPack boards), latency and energy: the paired mean difference over questions with its bootstrap CI and a
  sign-flip permutation p (scipy.stats.permutation_test), Holm over the whole family.
- `pareto`: the study-wide Pareto front over (model, level, mode) configurations, quality against energy and
  against latency, with each configuration's share of bootstrap resamples on the front.
- `recommendation`: Q4's rule (tradeoffs.recommend) over (model, level, mode): among the front's configurations
  the cheapest within report.quality_margin of the best mean quality; its Finding names the mode.
- `identical`: per model, the share of prompts whose answers are the same text in every mode (greedy decoding
  with one build should give 1.0; the judge asks each distinct answer once, so this is also the share of runs
  that cost no verdict).

A study of one mode gets only `by_model` (its figure: tokens per joule and latency per model).
The bootstrap resamples questions with the same draws for every configuration (weights of a multinomial draw,
so no resample is materialised), seeded by report.seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import pandas as pd

from .data import MODE, mode_labels
from .findings import Finding, ci, num

CONFIG = ["model", "level", MODE]
METRICS = ["quality", "latency_ms", "energy_j", "ttft_ms", "decode_tok_s", "completion_tokens"]
COSTS = {"energy_j": "energy", "latency_ms": "latency"}
SUMMARY_COLUMNS = [*CONFIG, "n", *[c for m in ("quality", "latency_ms", "energy_j", "tokens_per_joule")
                                   for c in (m, f"{m}_low", f"{m}_high")], "ttft_ms", "decode_tok_s", "pareto"]
BY_MODEL_COLUMNS = ["model", MODE, "n", *[c for m in ("latency_ms", "tokens_per_joule")
                                          for c in (m, f"{m}_low", f"{m}_high")]]
CONTRAST_COLUMNS = ["model", "level", MODE, "reference", "metric", "n", "estimate", "ci_low", "ci_high", "p",
                    "p_holm", "significant"]
PARETO_COLUMNS = [*CONFIG, "cost", "quality", "cost_value", "on_front", "front_share", "n"]
MIXED_COLUMNS = ["metric", "test", "chi2", "df", "p", "n", "questions", "converged", "formula", "note"]
IDENTICAL_COLUMNS = ["model", "prompts", "identical", "share", "runs", "distinct_answers"]


@dataclass
class ModeAnalysis:
    modes: List[str]  # labels, in nvpmodel id order
    by_model: pd.DataFrame
    summary: Optional[pd.DataFrame] = None  # the rest: only with two or more modes
    contrasts: Optional[pd.DataFrame] = None
    mixed: Optional[pd.DataFrame] = None
    pareto: Optional[pd.DataFrame] = None
    identical: Optional[pd.DataFrame] = None
    recommendation: Optional[dict] = None
    reference: Optional[str] = None

    @property
    def several(self) -> bool:
        return len(self.modes) > 1


def with_modes(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with the mode's label (data.MODE), as load_study gives them; added where a caller's frame lacks it."""
    return frame if MODE in frame else frame.assign(**{MODE: mode_labels(frame)})


def _ordered_modes(frame: pd.DataFrame) -> List[str]:
    first = frame.groupby(MODE, sort=False)["power_mode_id"].min()
    return sorted(first.index, key=lambda label: (first[label], label))


class QuestionBootstrap:
    """Means over questions of many configurations, and the same bootstrap resamples of questions for each."""

    def __init__(self, n_questions: int, samples: int, seed: int):
        rng = np.random.default_rng([seed, 30])  # 30: this issue's stream, apart from the stats' generators
        self.weights = rng.multinomial(n_questions, np.full(n_questions, 1.0 / n_questions), size=samples) \
            if n_questions else np.zeros((samples, 0))

    def means(self, values: np.ndarray) -> np.ndarray:
        """values: questions x configurations (NaN: missing) -> resamples x configurations."""
        present = ~np.isnan(values)
        total = self.weights @ np.where(present, values, 0.0)
        count = self.weights @ present.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / count, np.nan)


def _interval(draws: np.ndarray, confidence: float):
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(draws, tail, axis=0), np.nanpercentile(draws, 100 - tail, axis=0)


def _cells(frame: pd.DataFrame, keys: List[str]) -> pd.DataFrame:
    """Per configuration and question: the mean over the question's prompt variants (the question is the unit)."""
    used = frame[frame["in_analysis"]]
    return used.groupby(keys + ["question_id"], sort=False)[METRICS].mean()


def _matrix(cells: pd.DataFrame, metric: str, configs: list, questions: list) -> np.ndarray:
    table = cells[metric].unstack(list(range(cells.index.nlevels - 1)))
    return table.reindex(index=questions, columns=pd.MultiIndex.from_tuples(configs)).to_numpy(dtype=float)


def _summaries(frame: pd.DataFrame, keys: List[str], settings, metrics=("quality", "latency_ms", "energy_j")):
    """Per configuration of `keys`: n, means with CIs, tokens per joule with CI, TTFT and decode rate."""
    cells = _cells(frame.rename(columns={"model_id": "model"}), keys)
    if cells.empty:
        return pd.DataFrame(), None, None, None
    configs = list(dict.fromkeys(idx[:-1] for idx in cells.index))
    questions = sorted({idx[-1] for idx in cells.index})
    boot = QuestionBootstrap(len(questions), settings.bootstrap_samples, settings.seed)
    out = pd.DataFrame(configs, columns=keys)
    draws = {}
    for metric in METRICS:
        values = _matrix(cells, metric, configs, questions)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[metric] = np.nanmean(values, axis=0)
        draws[metric] = boot.means(values)
        if metric in metrics:
            out[f"{metric}_low"], out[f"{metric}_high"] = _interval(draws[metric], settings.confidence)
        if metric == "quality":
            out["n"] = (~np.isnan(values)).sum(axis=0)
        draws[f"{metric}_values"] = values
    with np.errstate(invalid="ignore", divide="ignore"):
        out["tokens_per_joule"] = out["completion_tokens"] / out["energy_j"]
        ratio = draws["completion_tokens"] / draws["energy_j"]
    out["tokens_per_joule_low"], out["tokens_per_joule_high"] = _interval(np.where(np.isfinite(ratio), ratio, np.nan),
                                                                          settings.confidence)
    if "n" not in out or not out["n"].any():  # nothing judged yet: n counts the measured answers
        out["n"] = (~np.isnan(draws["latency_ms_values"])).sum(axis=0)
    return out, draws, configs, questions


def _pareto(summary: pd.DataFrame, draws: dict, configs: list) -> pd.DataFrame:
    from .tradeoffs import on_front

    rows = []
    for cost in COSTS:
        point = summary[cost].to_numpy(dtype=float)
        if np.isnan(point).all() or summary["quality"].isna().all():
            continue
        front = on_front(summary["quality"].to_numpy(dtype=float), point)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            share = on_front(draws["quality"], draws[cost]).mean(axis=0)
        for j, config in enumerate(configs):
            rows.append({**dict(zip(CONFIG, config)), "cost": cost, "quality": summary["quality"].iloc[j],
                         "cost_value": point[j], "on_front": bool(front[j]), "front_share": float(share[j]),
                         "n": int(summary["n"].iloc[j])})
    return pd.DataFrame(rows, columns=PARETO_COLUMNS)


def _contrasts(summary: pd.DataFrame, draws: dict, configs: list, reference: str, settings) -> pd.DataFrame:
    from scipy.stats import permutation_test
    from statsmodels.stats.multitest import multipletests

    index = {config: j for j, config in enumerate(configs)}
    boot = QuestionBootstrap(draws["latency_ms_values"].shape[0], settings.bootstrap_samples, settings.seed)
    rows = []
    for (model, level, mode), j in index.items():
        base = index.get((model, level, reference))
        if mode == reference or base is None:
            continue
        for metric in COSTS:
            values = draws[f"{metric}_values"]
            diff = values[:, j] - values[:, base]
            paired = ~np.isnan(diff)
            row = {"model": model, "level": level, MODE: mode, "reference": reference, "metric": metric,
                   "n": int(paired.sum())}
            if paired.sum() >= 1:
                row["estimate"] = float(diff[paired].mean())
                low, high = _interval(boot.means(diff[:, None])[:, 0], settings.confidence)
                row["ci_low"], row["ci_high"] = (float(low), float(high)) if paired.sum() >= 2 else (np.nan, np.nan)
            if paired.sum() >= 2 and np.ptp(diff[paired]) + abs(diff[paired]).sum() > 0:
                test = permutation_test((values[paired, j], values[paired, base]), _mean_difference,
                                        permutation_type="samples", vectorized=True, n_resamples=9999,
                                        random_state=np.random.default_rng([settings.seed, 30, j]))
                row["p"] = float(test.pvalue)
            rows.append(row)
    table = pd.DataFrame(rows, columns=CONTRAST_COLUMNS)
    tested = table["p"].notna()
    if tested.any():
        table.loc[tested, "p_holm"] = multipletests(table.loc[tested, "p"], method="holm")[1]
        table["significant"] = table["p_holm"].map(lambda p: None if pd.isna(p) else bool(p < settings.alpha))
    return table


def _mean_difference(x, y, axis=-1):
    return np.mean(x - y, axis=axis)


def mode_contrasts(frame: pd.DataFrame, settings, reference: str) -> pd.DataFrame:
    """The contrasts table alone (frame: analysis rows with data.MODE): for benchmarks/mode_contrasts.py."""
    summary, draws, configs, _ = _summaries(with_modes(frame), CONFIG, settings)
    return _contrasts(summary, draws, configs, reference, settings)


def mixed_mode_tests(frame: pd.DataFrame, levels: List[str]) -> pd.DataFrame:
    """latency and energy ~ level * model + mode * model + (1 | question): LRTs of the mode term and of
    mode x level (statsmodels MixedLM, maximum likelihood)."""
    from scipy.stats import chi2
    from statsmodels.formula.api import mixedlm

    used = frame[frame["in_analysis"]]
    rows = []
    for metric in COSTS:
        data = used.dropna(subset=[metric])
        data = pd.DataFrame({"y": data[metric].astype(float), "question": data["question_id"].astype(str),
                             "level": pd.Categorical(data["level"], [lv for lv in levels if lv in set(data["level"])]),
                             "model": data["model_id"].astype(str), "mode": data[MODE].astype(str)})
        several = data["model"].nunique() > 1
        base = {"metric": metric, "n": len(data), "questions": data["question"].nunique()}
        if data["mode"].nunique() < 2 or data["question"].nunique() < 3 or data["y"].var() == 0:
            rows.append({**base, "test": "mode (overall)", "note": "not estimable: one mode, fewer than 3 "
                                                                  "questions, or no variation"})
            continue
        without = "y ~ C(level) * C(model)" if several else "y ~ C(level)"
        full = without + (" + C(mode) * C(model)" if several else " + C(mode)")
        formulas = {"without": without, "full": full, "interaction": full + " + C(mode):C(level)"}
        try:
            fits = {name: _fit(mixedlm(formula, data, groups=data["question"])) for name, formula in formulas.items()}
        except (np.linalg.LinAlgError, ValueError) as exc:
            rows.append({**base, "test": "mode (overall)", "note": f"model did not fit: {exc}"})
            continue
        for test, big, small in (("mode (overall)", "full", "without"), ("mode x level", "interaction", "full")):
            formula = formulas[big]
            df = len(fits[big].fe_params) - len(fits[small].fe_params)
            stat = max(0.0, 2 * (fits[big].llf - fits[small].llf))
            rows.append({**base, "test": test, "chi2": stat, "df": df, "p": float(chi2.sf(stat, df)) if df else np.nan,
                         "converged": bool(fits[big].converged), "formula": formula + " + (1 | question)",
                         "note": f"likelihood ratio vs {small}"})
    return pd.DataFrame(rows, columns=MIXED_COLUMNS)


def _fit(model):
    """Maximum likelihood, by the first optimiser that gets through (one can hit a singular Hessian where
    another does not); convergence is reported in the table, not on stderr."""
    failure = None
    for method in ("lbfgs", "bfgs", "powell"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = model.fit(reml=False, method=method)
        except (np.linalg.LinAlgError, ValueError) as exc:
            failure = exc
            continue
        if fit.converged or method == "powell":
            return fit
    raise failure


def _identical(frame: pd.DataFrame) -> pd.DataFrame:
    ok = frame[frame["status"] == "ok"]
    rows = []
    for model, own in [(m, ok[ok["model_id"] == m]) for m in dict.fromkeys(ok["model_id"])] + [("(all models)", ok)]:
        per_prompt = own.groupby(["model_id", "level", "question_id", "variant"])
        spread = per_prompt.agg(modes=(MODE, "nunique"), answers=("output", "nunique"))
        measured = spread[spread["modes"] > 1]
        same = int((measured["answers"] == 1).sum())
        rows.append({"model": model, "prompts": len(measured), "identical": same,
                     "share": same / len(measured) if len(measured) else np.nan, "runs": len(own),
                     "distinct_answers": int(own.drop_duplicates(["question_id", "output"]).shape[0])})
    return pd.DataFrame(rows, columns=IDENTICAL_COLUMNS)


def _recommend(summary: pd.DataFrame, margin: float) -> Optional[dict]:
    from .tradeoffs import recommend

    return recommend(summary, margin) if summary["quality"].notna().any() else None


def mode_analysis(study, frame: pd.DataFrame) -> ModeAnalysis:
    """frame: stats.analysis_rows(study.runs)."""
    settings = study.settings
    frame = with_modes(frame)
    modes = _ordered_modes(frame)
    by_model, _, _, _ = _summaries(frame, ["model", MODE], settings, metrics=("latency_ms",))
    result = ModeAnalysis(modes=modes, by_model=by_model.reindex(columns=BY_MODEL_COLUMNS))
    if len(modes) < 2:
        return result
    summary, draws, configs, _ = _summaries(frame, CONFIG, settings)
    pareto = _pareto(summary, draws, configs)
    cost = "energy_j" if summary["energy_j"].notna().any() else "latency_ms"
    front = pareto[pareto["cost"] == cost].set_index(CONFIG)["on_front"]
    summary["pareto"] = [front.get(tuple(c)) for c in summary[CONFIG].itertuples(index=False)]
    result.reference = modes[0]
    result.summary = summary.reindex(columns=SUMMARY_COLUMNS)
    result.pareto = pareto
    result.contrasts = _contrasts(summary, draws, configs, result.reference, settings)
    result.mixed = mixed_mode_tests(frame, study.levels)
    result.identical = _identical(frame)
    result.recommendation = _recommend(result.summary, settings.quality_margin)
    return result


def mode_findings(modes: Optional[ModeAnalysis], confidence: float) -> List[Finding]:
    """Q4 over (model, level, mode), naming the mode."""
    if modes is None or not modes.several:
        return []
    found = []
    rec = modes.recommendation
    if rec is not None:
        pick, best, cost = rec["pick"], rec["best"], rec["cost"]
        unit, digits = ("J", 3) if cost == "energy_j" else ("ms", 0)
        found.append(Finding("Q4", str(pick["model"]), str(pick["level"]), (
            f"Across the power modes ({', '.join(modes.modes)}): among the Pareto configurations of (model, level, "
            f"mode) for quality vs {COSTS[cost]}, the cheapest within {rec['margin']:g} points of the best is "
            f"{pick['model']} at {pick['level']} in {pick[MODE]}: quality {num(pick['quality'])} "
            f"({ci(pick['quality_low'], pick['quality_high'], confidence)}), {COSTS[cost]} {num(pick[cost], digits)} "
            f"{unit}, {num(pick['tokens_per_joule'], 1)} output tokens per J, n = {int(pick['n'])}. Best quality: "
            f"{best['model']} at {best['level']} in {best[MODE]} ({num(best['quality'])})."),
            pick["quality"], pick["quality_low"], pick["quality_high"]))
    return found


def identical_lines(runs: pd.DataFrame) -> List[str]:
    """summary.md's measurement protocol: how many prompts got the same answer in every power mode."""
    frame = with_modes(runs)
    if frame[MODE].nunique() < 2:
        return []
    everyone = _identical(frame).iloc[-1]
    if not everyone["prompts"]:
        return []
    return [f"- Identical answers across the power modes: {int(everyone['identical'])} of "
            f"{int(everyone['prompts'])} prompts ({everyone['share']:.0%}); the judge asked each distinct answer "
            f"once ({int(everyone['distinct_answers'])} verdicts for {int(everyone['runs'])} runs; per model: the "
            f"identical_answers sheet of model_comparison.xlsx)."]
