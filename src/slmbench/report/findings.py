"""The study's four questions answered as sentences with their numbers, for the findings sheet and summary.md."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import pandas as pd

from .data import Study
from .dataquality import energy_note

QUESTIONS = {
    "Q1": "Does a longer prompt buy quality over the baseline level? Does padding hurt?",
    "Q2": "What does that quality cost in latency and joules?",
    "Q3": "Which level gives the best quality per joule and per second, for each model?",
    "Q4": "Which model suits edge deployment?",
}


def question_text(key: str, baseline: str) -> str:
    return QUESTIONS[key].replace("the baseline level", baseline)


@dataclass
class Finding:
    question: str  # "Q1".."Q4"
    model: str
    level: Optional[str]
    text: str
    value: float = math.nan
    low: float = math.nan
    high: float = math.nan
    p: float = math.nan


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def num(x, digits: int = 2, sign: bool = False) -> str:
    if missing(x):
        return "n/a"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def ci(low, high, confidence: float, digits: int = 2, sign: bool = False) -> str:
    if missing(low) or missing(high):
        return "no CI: too few questions"
    return f"{confidence:.0%} CI {num(low, digits, sign)} to {num(high, digits, sign)}"


def pval(p) -> str:
    if missing(p):
        return "p n/a"
    return "p < 0.0001" if p < 0.0001 else f"p = {p:.4f}"


def quality_findings(study: Study, tests: pd.DataFrame, model_tests: pd.DataFrame, summary: pd.DataFrame):
    conf = study.settings.confidence
    out: List[Finding] = []
    for model in study.models:
        own = tests[tests["model"] == model]
        scored = summary.loc[summary["model"] == model, "scored"].sum()
        if not scored:
            out.append(Finding("Q1", model, None, f"{model}: no judged scores, so quality cannot be compared."))
            continue
        if own.empty:
            out.append(Finding("Q1", model, None, f"{model}: no {study.baseline} runs (or only one level): "
                                                  "nothing to compare with."))
            continue
        mt = model_tests[model_tests["model"] == model].iloc[0]
        if not missing(mt["friedman_p"]):
            out.append(Finding("Q1", model, None,
                               f"{model}: Friedman test across {int(mt['levels'])} levels: "
                               f"chi2 = {num(mt['friedman_chi2'])}, "
                               f"{pval(mt['friedman_p'])}, Kendall's W = {num(mt['kendall_w'])} "
                               f"({int(mt['complete_questions'])} questions scored at every level).",
                               mt["friedman_chi2"], p=mt["friedman_p"]))
        for r in own.itertuples():
            if not r.pairs:
                out.append(Finding("Q1", model, r.level, f"{model} {r.level} vs {r.baseline}: no question was scored "
                                                         "at both levels, so the difference is not tested."))
                continue
            text = (f"{model} {r.level} vs {r.baseline}: {num(r.quality_diff, sign=True)} quality points "
                    f"({ci(r.quality_diff_low, r.quality_diff_high, conf, sign=True)}; {r.pairs} paired questions), "
                    f"Wilcoxon {pval(r.p_holm)} (Holm), rank-biserial r = {num(r.rank_biserial)}: {r.direction}.")
            if not missing(r.adjusted_diff) and not missing(r.p_holm):
                text += (f" At equal answer length: {num(r.adjusted_diff, sign=True)} "
                         f"({ci(r.adjusted_low, r.adjusted_high, conf, sign=True)}), {r.length_verdict}.")
            out.append(Finding("Q1", model, r.level, text, r.quality_diff, r.quality_diff_low,
                               r.quality_diff_high, r.p_holm))
    bias = [r for r in model_tests.itertuples()
            if not missing(r.conciseness_length_rho) or not missing(r.quality_length_rho)]
    for i, r in enumerate(bias):
        text = (f"Judge-bias check, {r.model}: Spearman rho between conciseness and answer length = "
                f"{num(r.conciseness_length_rho)} ({pval(r.conciseness_length_p)}), between total score and length = "
                f"{num(r.quality_length_rho)} ({pval(r.quality_length_p)}); n = {r.bias_n}.")
        if i == len(bias) - 1:
            text += (" A positive total-length correlation together with a conciseness score that does not fall "
                     "with length suggests the judge rewards longer answers; compare with the equal-length "
                     "differences.")
        out.append(Finding("Q1", r.model, None, text, r.quality_length_rho, p=r.quality_length_p))
    return out


def cost_findings(study: Study, tests: pd.DataFrame):
    conf = study.settings.confidence
    out: List[Finding] = []
    no_energy = energy_note(study) if tests["energy_diff_j"].isna().all() else None
    for r in tests.itertuples():
        text = (f"{r.model} {r.level} vs {r.baseline}: latency {num(r.latency_diff_ms, 0, True)} ms "
                f"({ci(r.latency_diff_ms_low, r.latency_diff_ms_high, conf, 0, True)}), ")
        if missing(r.energy_diff_j):
            text += "energy not measured"
        else:
            text += (f"energy {num(r.energy_diff_j, 3, True)} J per answer "
                     f"({ci(r.energy_diff_j_low, r.energy_diff_j_high, conf, 3, True)})")
        text += f", for {num(r.quality_diff, sign=True)} quality points"
        if not missing(r.energy_diff_j) and r.direction == "gain":
            text += f" ({num(r.energy_diff_j / r.quality_diff, 3)} J per extra point)"
        text += f"; answer length {num(r.completion_diff, 0, True)} tokens."
        out.append(Finding("Q2", r.model, r.level, text, r.energy_diff_j, r.energy_diff_j_low, r.energy_diff_j_high))
    if no_energy:
        out.append(Finding("Q2", "(all models)", None, no_energy))
    return out


def efficiency_findings(study: Study, best: pd.DataFrame):
    conf = study.settings.confidence
    out: List[Finding] = []
    for r in best.itertuples():
        if r.quality_per_joule_level:
            out.append(Finding(
                "Q3", r.model, r.quality_per_joule_level,
                f"{r.model}: best quality per joule at {r.quality_per_joule_level}: {num(r.quality_per_joule, 3)} "
                f"points/J ({ci(r.quality_per_joule_low, r.quality_per_joule_high, conf, 3)}; best in "
                f"{num(100 * r.quality_per_joule_sure, 0)}% of bootstrap resamples).",
                r.quality_per_joule, r.quality_per_joule_low, r.quality_per_joule_high))
        else:
            out.append(Finding("Q3", r.model, None, f"{r.model}: quality per joule unavailable "
                                                    "(no energy measured or no scores)."))
        if r.quality_per_second_level:
            out.append(Finding(
                "Q3", r.model, r.quality_per_second_level,
                f"{r.model}: best quality per second at {r.quality_per_second_level}: "
                f"{num(r.quality_per_second, 3)} points/s "
                f"({ci(r.quality_per_second_low, r.quality_per_second_high, conf, 3)}; "
                f"best in {num(100 * r.quality_per_second_sure, 0)}% of bootstrap resamples).",
                r.quality_per_second, r.quality_per_second_low, r.quality_per_second_high))
    return out


def edge_findings(study: Study, summary: pd.DataFrame, best: pd.DataFrame):
    conf = study.settings.confidence
    scored = summary.dropna(subset=["quality"])
    if scored.empty:
        return [Finding("Q4", "(all models)", None, "No judged scores: models cannot be compared on quality.")]
    metric = "quality_per_joule" if scored["quality_per_joule"].notna().any() else "quality_per_second"
    unit = "points/J" if metric == "quality_per_joule" else "points/s"
    top = scored.loc[scored[metric].idxmax()]
    strongest = scored.loc[scored["quality"].idxmax()]
    front = summary[summary["pareto"] == True]  # noqa: E712 - object column holding True/False/None
    cost = "energy" if summary["energy_j"].notna().any() else "latency"
    lead = "Only one model was measured. " if len(study.models) == 1 else ""
    if metric == "quality_per_second":
        lead += "Energy was not measured, so models are compared per second. "
    text = (f"{lead}Most {metric.replace('_', ' ')}: {top['model']} at {top['level']} "
            f"({num(top[metric], 3)} {unit}, {ci(top[f'{metric}_low'], top[f'{metric}_high'], conf, 3)}; "
            f"quality {num(top['quality'])}, latency {num(top['latency_ms'], 0)} ms"
            + (f", {num(top['energy_j'], 3)} J" if not missing(top['energy_j']) else "") + "). "
            f"Highest quality: {strongest['model']} at {strongest['level']} ({num(strongest['quality'])}, "
            f"{ci(strongest['quality_low'], strongest['quality_high'], conf)}). "
            f"Pareto front of {cost} vs quality: "
            + ", ".join(f"{r.model} {r.level}" for r in front.itertuples()) + ".")
    ranking = best.dropna(subset=[metric]).sort_values(metric, ascending=False)
    if len(ranking) > 1:
        text += (f" Models ranked by their best {metric.replace('_', ' ')}: "
                 + ", ".join(f"{r.model} at {getattr(r, metric + '_level')} ({num(getattr(r, metric), 3)})"
                             for r in ranking.itertuples()) + ".")
    return [Finding("Q4", str(top["model"]), str(top["level"]), text, top[metric], top[f"{metric}_low"],
                    top[f"{metric}_high"])]


def answer_questions(study: Study, summary, best, tests, model_tests) -> List[Finding]:
    return (quality_findings(study, tests, model_tests, summary) + cost_findings(study, tests)
            + efficiency_findings(study, best) + edge_findings(study, summary, best))
