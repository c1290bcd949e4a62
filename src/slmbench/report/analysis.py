"""Everything the reports show, computed once from a Study."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import List, Tuple

import pandas as pd

from .data import Study, load_study
from .dataquality import data_quality_notes, data_quality_table
from .findings import Finding, answer_questions
from .stats import best_levels, by_category, level_summary, level_tests, measured, model_data, model_tests, roofline


@dataclass
class Analysis:
    study: Study
    summary: pd.DataFrame  # per (model, level): counts, means with CIs, efficiency, Pareto flag
    best: pd.DataFrame  # per model: best level by quality, per joule, per second
    tests: pd.DataFrame  # per (model, level != baseline): paired tests vs the baseline
    model_tests: pd.DataFrame  # per model: Friedman, length coefficient, judge-bias correlations
    roofline: pd.DataFrame
    categories: pd.DataFrame  # per (model, category, level)
    quality: pd.DataFrame  # data quality per (model, level)
    notes: List[Tuple[str, str]]
    findings: List[Finding]


def analyze(study: Study) -> Analysis:
    # One line in the job's log per analysis (the expensive part: bootstrap and tests); a report build runs one.
    print(f"slmbench report: analysing {len(study.runs)} runs of {len(study.models)} models", file=sys.stderr)
    frame = measured(study.runs)
    datas = {model: model_data(study, frame, model) for model in study.models}
    summary = level_summary(study, datas, frame)
    best = best_levels(study, datas, summary)
    tests = level_tests(study, datas, frame)
    per_model = model_tests(study, datas, frame)
    return Analysis(
        study=study, summary=summary, best=best, tests=tests, model_tests=per_model,
        roofline=roofline(study, summary, frame), categories=by_category(study, frame),
        quality=data_quality_table(study), notes=data_quality_notes(study),
        findings=answer_questions(study, summary, best, tests, per_model),
    )


def load_analysis(runs_path, scores_path=None, settings=None) -> Analysis:
    return analyze(load_study(runs_path, scores_path, settings))
