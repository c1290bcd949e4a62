"""Everything the reports show, computed once from a Study."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import pandas as pd

from .contrasts import contrast_table, declared_contrasts, level_tests, minimum_detectable_effect
from .correctness import correctness_tables, disagreement_findings
from .data import Study, load_study
from .dataquality import data_quality_notes, data_quality_table
from .decisions import best_level_sets, decision_findings, plausible_front, recommendation_stability, with_sets
from .findings import Finding, answer_questions
from .mixed import mixed_model_tests, pooled_level_effects
from .modes import ModeAnalysis, mode_analysis, mode_findings
from .shards import marginal_with_shard_cis, shard_bootstraps, tests_with_shard_cis, with_shard_cis
from .stats import (
    analysis_rows,
    best_levels,
    by_category,
    length_controlled,
    level_summary,
    model_data,
    model_tests,
    roofline,
)
from .tradeoffs import marginal_costs, pareto_table, recommend

TRUNCATED = "length"  # finish_reason of an answer cut at max_tokens


@dataclass
class Analysis:
    study: Study
    summary: pd.DataFrame  # per (model, level): counts, means with CIs and n, ratios, study-wide Pareto flag
    best: pd.DataFrame  # per model: best level by quality, and by the ratios per joule and per second
    contrasts: pd.DataFrame  # per (model, declared contrast, metric): estimate, CI, p raw/Holm, family size, n
    tests: pd.DataFrame  # per (model, declared contrast): quality test, cost differences, length control
    mixed: pd.DataFrame  # per metric: the mixed model's overall level effect and level x model interaction
    model_tests: pd.DataFrame  # per model: Friedman, length coefficient, judge-length check (within model)
    pareto: pd.DataFrame  # per (model, level, cost): on the model's front, share of resamples on it
    marginal: pd.DataFrame  # per (model, level vs baseline): extra J and ms per extra quality point
    recommendation: Optional[dict]  # Q4's rule (tradeoffs.recommend)
    mde: dict  # minimum detectable quality effect
    sensitivity: pd.DataFrame  # quality contrasts with and without truncated answers
    roofline: pd.DataFrame
    categories: pd.DataFrame  # per (model, category, level)
    quality: pd.DataFrame  # data quality per (model, level)
    notes: List[Tuple[str, str]]
    findings: List[Finding]
    agreement: Optional[pd.DataFrame] = None  # judge repeat agreement (ICC(2,1), alpha) and between judges
    modes: Optional[ModeAnalysis] = None  # per power mode (modes.py): tables with a study of several modes
    pooled: Optional[pd.DataFrame] = None  # per declared contrast, pooled over models (mixed model): Q1's answer
    best_sets: Optional[pd.DataFrame] = None  # per (model, metric, level): in the set indistinguishable from best
    stability: Optional[pd.DataFrame] = None  # Q4: share of joint resamples in which each configuration wins
    correctness: Optional[tuple] = None  # (rates, contrasts) of reference_match; None without references


def judge_agreement(study: Study) -> pd.DataFrame:
    """slmbench.judge.agreement over every verdict of the scores file (repeats and judges, before collapsing)."""
    from ..judge.agreement import AGREEMENT_COLUMNS, agreement

    verdicts = study.verdicts
    if verdicts is None or verdicts.empty:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    rows = verdicts.drop(columns=["repeat_verdicts"], errors="ignore").to_dict("records")
    return pd.DataFrame(agreement(rows), columns=AGREEMENT_COLUMNS)


SENSITIVITY_COLUMNS = ["model", "contrast", "estimate", "ci_low", "ci_high", "n", "truncated_runs",
                       "estimate_without", "ci_low_without", "ci_high_without", "n_without", "p_adj_without"]


def truncation_sensitivity(study: Study, frame: pd.DataFrame, contrasts, primary: pd.DataFrame) -> pd.DataFrame:
    """The quality contrasts again without answers cut at max_tokens (finish_reason "length")."""
    cut = frame["finish_reason"] == TRUNCATED
    if not (cut & frame["in_analysis"]).any():
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    reduced = frame.copy()
    reduced.loc[cut, ["quality", "energy_j", "latency_ms", "completion_tokens"]] = np.nan
    reduced["in_analysis"] &= ~cut
    s = study.settings
    datas = {m: model_data(study, reduced, m) for m in study.models}
    again = contrast_table(datas, contrasts, s.seed, s.alpha, metrics=["quality"]).set_index(["model", "contrast"])
    counts = (frame[cut & frame["in_analysis"]].groupby(["model_id", "level"]).size())
    rows = []
    for r in primary[primary["metric"] == "quality"].itertuples():
        other = again.loc[(r.model, r.contrast)] if (r.model, r.contrast) in again.index else None
        rows.append({"model": r.model, "contrast": r.contrast, "estimate": r.estimate, "ci_low": r.ci_low,
                     "ci_high": r.ci_high, "n": r.n,
                     "truncated_runs": int(counts.get((r.model, r.level), 0) + counts.get((r.model, r.reference), 0)),
                     **({"estimate_without": other["estimate"], "ci_low_without": other["ci_low"],
                         "ci_high_without": other["ci_high"], "n_without": other["n"],
                         "p_adj_without": other["p_adj"]} if other is not None else {})})
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)


def analyze(study: Study, background=None) -> Analysis:
    """`background`: an executor (report/build.py's helper process) that fits the mixed models meanwhile."""
    # One line in the job's log per analysis (the expensive part: bootstrap and tests); a report build runs one.
    print(f"slmbench report: analysing {len(study.runs)} runs of {len(study.models)} models", file=sys.stderr)
    s = study.settings
    frame = analysis_rows(study.runs)
    mixed_job = background.submit(mixed_model_tests, frame, study.levels) if background is not None else None
    pooled_args = (frame, study.levels, declared_contrasts(study.levels), s.alpha, s.confidence, s.equivalence_margin)
    pooled_job = background.submit(pooled_level_effects, *pooled_args) if background is not None else None
    datas = {model: model_data(study, frame, model) for model in study.models}
    contrasts = declared_contrasts(study.levels)
    boots = shard_bootstraps(study, frame, datas)  # energy and latency resample shards, then questions
    summary = with_shard_cis(level_summary(study, datas, frame), datas, boots)
    best_sets = best_level_sets(datas, summary, s.alpha)
    best = with_sets(best_levels(study, datas, summary), best_sets)
    table = contrast_table(datas, contrasts, s.seed, s.alpha, margin=s.equivalence_margin)
    lengths = {model: length_controlled(frame[frame["model_id"] == model], data.levels, contrasts)
               for model, data in datas.items()}
    tests = tests_with_shard_cis(level_tests(datas, lengths, contrasts, table, s.alpha), datas, boots)
    per_model = model_tests(study, datas, frame, lengths)
    pareto = plausible_front(datas, pareto_table(datas, summary), s.alpha)
    marginal = marginal_with_shard_cis(marginal_costs(datas, s.confidence), datas, boots)
    recommendation = recommend(summary, s.quality_margin)
    stability = recommendation_stability(frame, summary, recommendation, s.bootstrap_samples, s.seed, s.confidence)
    correctness = correctness_tables(frame, datas, study.models, study.levels, s)
    mde = minimum_detectable_effect(table, s.alpha)
    sensitivity = truncation_sensitivity(study, frame, contrasts, table)
    mixed = mixed_job.result() if mixed_job is not None else mixed_model_tests(frame, study.levels)
    pooled = pooled_job.result() if pooled_job is not None else pooled_level_effects(*pooled_args)
    modes = mode_analysis(study, frame)  # the power mode as a factor (jetson.power_modes); one mode: the figure only
    return Analysis(
        study=study, summary=summary, best=best, contrasts=table, tests=tests, mixed=mixed, model_tests=per_model,
        pareto=pareto, marginal=marginal, recommendation=recommendation, mde=mde,
        sensitivity=sensitivity,
        roofline=roofline(study, summary, frame), categories=by_category(study, frame),
        quality=data_quality_table(study), notes=data_quality_notes(study),
        findings=answer_questions(study, summary, best, tests, per_model, mixed=mixed, marginal=marginal,
                                  recommendation=recommendation, mde=mde, pareto=pareto, sensitivity=sensitivity,
                                  pooled=pooled)
        + mode_findings(modes, s.confidence) + decision_findings(study, best_sets, stability, pareto)
        + (disagreement_findings(study, tests, correctness[1]) if correctness else []),
        agreement=judge_agreement(study), modes=modes, pooled=pooled, best_sets=best_sets, stability=stability,
        correctness=correctness,
    )


def load_analysis(runs_path, scores_path=None, settings=None) -> Analysis:
    return analyze(load_study(runs_path, scores_path, settings))
