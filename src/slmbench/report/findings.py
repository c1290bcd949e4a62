"""The study's four questions answered as sentences with their numbers, for the findings sheet and summary.md."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import pandas as pd

from .data import Study
from .dataquality import energy_note
from .stats import WITHIN_MODELS

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


def mixed_findings(study: Study, mixed: pd.DataFrame) -> List[Finding]:
    out: List[Finding] = []
    for r in mixed[mixed["metric"] == "quality"].itertuples():
        if missing(r.p):
            out.append(Finding("Q1", "(all models)", None, f"Mixed model ({r.test}): {r.note}."))
            continue
        what = ("does the level change quality at all" if r.test == "level (overall)"
                else "does the level effect differ between models")
        text = (f"Primary analysis, mixed model {r.formula} ({r.n} scored runs, {r.questions} questions): "
                f"{r.test}, {what}: likelihood-ratio chi2 = {num(r.chi2)} on {int(r.df)} df, {pval(r.p)}"
                + ("" if r.converged else " (the fit did not fully converge)") + ".")
        out.append(Finding("Q1", "(all models)", None, text, r.chi2, p=r.p))
    return out


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
        for r in own.itertuples():
            if not r.pairs:
                out.append(Finding("Q1", model, r.level, f"{model} {r.level} vs {r.baseline}: no question was scored "
                                                         "at both levels, so the difference is not tested."))
                continue
            text = (f"{model} {r.level} vs {r.baseline}: {num(r.quality_diff, sign=True)} quality points "
                    f"({ci(r.quality_diff_low, r.quality_diff_high, conf, sign=True)}; n = {r.pairs} paired "
                    f"questions), sign-flip permutation test of the mean {pval(r.p_holm)} (Holm over "
                    f"{_family(r.family_size)} tests), d_z = {num(r.effect_dz)}: {_answer(r.direction, r.mde)}.")
            if not missing(r.adjusted_diff) and not missing(r.p_holm):
                text += (f" Descriptive length adjustment (question fixed effects, at equal answer length; length "
                         f"is itself changed by the level, so this describes, it does not isolate, the effect): "
                         f"{num(r.adjusted_diff, sign=True)} "
                         f"({ci(r.adjusted_low, r.adjusted_high, conf, sign=True)}), {r.length_verdict}.")
            out.append(Finding("Q1", model, r.level, text, r.quality_diff, r.quality_diff_low,
                               r.quality_diff_high, r.p_holm))
    bias = [r for r in model_tests.itertuples()
            if not missing(r.conciseness_length_rho) or not missing(r.quality_length_rho)]
    for i, r in enumerate(bias):
        scope = "each model (ranks taken within model)" if r.model == WITHIN_MODELS else r.model
        text = (f"Judge-length check within {scope}: "
                f"Spearman rho between conciseness and answer length = "
                f"{num(r.conciseness_length_rho)} ({pval(r.conciseness_length_p)}), between total score and length = "
                f"{num(r.quality_length_rho)} ({pval(r.quality_length_p)}); n = {r.bias_n}.")
        if i == len(bias) - 1:
            text += (" A positive total-length correlation together with a conciseness score that does not fall "
                     "with length suggests the judge rewards longer answers; compare with the equal-length "
                     "differences.")
        out.append(Finding("Q1", r.model, None, text, r.quality_length_rho, p=r.quality_length_p))
    return out


def _answer(verdict: str, mde) -> str:
    """A verdict with what the study could have seen: a non-significant contrast is equivalent or inconclusive,
    never "no difference", and the MDE says how large a true difference could have gone unseen."""
    if verdict in ("better", "worse") or missing(mde):
        return verdict
    return f"{verdict} (minimum detectable effect {num(mde)} points at 80 % power)"


def pooled_findings(study: Study, pooled: Optional[pd.DataFrame]) -> List[Finding]:
    """Question 1's primary answer: each declared contrast pooled over the models (mixed.pooled_level_effects)."""
    if pooled is None or pooled.empty:
        return []
    conf = study.settings.confidence
    first = pooled.iloc[0]
    if missing(first["estimate"]):
        return [Finding("Q1", "(all models)", None, f"Pooled level effect ({first['formula']}): {first['note']}.")]
    out = [Finding("Q1", "(all models)", None,
                   f"Primary answer, pooled over {int(first['models'])} model(s): mixed model {first['formula']} "
                   f"({int(first['n'])} scored runs, {int(first['questions'])} questions); declared family of "
                   f"{_family(first['family_size'])} pooled contrasts, Holm-corrected; equivalence margin "
                   f"±{study.settings.equivalence_margin:g} points (TOST). Per-model contrasts follow.")]
    for r in pooled.itertuples():
        out.append(Finding("Q1", "(all models)", r.level,
                           f"Pooled {r.contrast}: {num(r.estimate, sign=True)} quality points "
                           f"({ci(r.ci_low, r.ci_high, conf, sign=True)}), Wald {pval(r.p_adj)} (Holm over "
                           f"{_family(r.family_size)}): {_answer(r.equivalence, r.mde)}.",
                           r.estimate, r.ci_low, r.ci_high, r.p_adj))
    return out


def _family(size) -> str:
    return "n/a" if missing(size) else str(int(size))


def mde_finding(study: Study, mde: dict) -> List[Finding]:
    if not mde:
        return []
    text = (f"Minimum detectable effect: with n = {mde['n']} paired questions per contrast and the observed SD of "
            f"per-question differences ({num(mde['sd_diff'])} points), a true quality difference of "
            f"{num(mde['points'])} points (d_z = {num(mde['dz'])}) is found with {mde['power']:.0%} power at "
            f"family-wise alpha = {mde['alpha']} over {mde['family_size']} tests; smaller effects may go unseen.")
    return [Finding("Q1", "(all models)", None, text, mde["points"])]


def sensitivity_findings(study: Study, sensitivity: pd.DataFrame) -> List[Finding]:
    if sensitivity is None or sensitivity.empty:
        return []
    conf = study.settings.confidence
    out = []
    for r in sensitivity[sensitivity["truncated_runs"] > 0].itertuples():
        out.append(Finding("Q1", r.model, None,
                           f"Sensitivity, {r.model} {r.contrast} without answers cut at max_tokens "
                           f"({r.truncated_runs} truncated runs): {num(r.estimate_without, sign=True)} "
                           f"({ci(r.ci_low_without, r.ci_high_without, conf, sign=True)}; n = "
                           f"{'n/a' if missing(r.n_without) else int(r.n_without)}) against "
                           f"{num(r.estimate, sign=True)} with them.", r.estimate_without, r.ci_low_without,
                           r.ci_high_without))
    return out


def cost_findings(study: Study, marginal: pd.DataFrame):
    """Always printed, significant or not: the extra joules and milliseconds of each level over the baseline
    and per extra quality point."""
    conf = study.settings.confidence
    out: List[Finding] = []
    no_energy = energy_note(study) if marginal["extra_energy_j"].isna().all() else None
    for r in marginal.itertuples():
        text = (f"{r.model} {r.level} vs {r.baseline} (n = {r.n}): latency {num(r.extra_latency_ms, 0, True)} ms "
                f"({ci(r.extra_latency_ms_low, r.extra_latency_ms_high, conf, 0, True)}), ")
        if missing(r.extra_energy_j):
            text += "energy not measured"
        else:
            text += (f"energy {num(r.extra_energy_j, 3, True)} J per answer "
                     f"({ci(r.extra_energy_j_low, r.extra_energy_j_high, conf, 3, True)})")
        text += (f", for {num(r.quality_gain, sign=True)} quality points "
                 f"({ci(r.quality_gain_low, r.quality_gain_high, conf, sign=True)}). ")
        if r.note:
            text += f"Per extra quality point: no bound ({r.note})."
        else:
            parts = []
            if not missing(r.extra_energy_j):
                bounds = _ci_or_note(r.joules_per_point_low, r.joules_per_point_high, conf, 3)
                parts.append(f"{num(r.joules_per_point, 3)} J ({bounds})")
            bounds = _ci_or_note(r.ms_per_point_low, r.ms_per_point_high, conf, 0)
            parts.append(f"{num(r.ms_per_point, 0)} ms ({bounds})")
            text += "Per extra quality point: " + ", ".join(parts) + "."
        out.append(Finding("Q2", r.model, r.level, text, r.joules_per_point, r.joules_per_point_low,
                           r.joules_per_point_high))
    if no_energy:
        out.append(Finding("Q2", "(all models)", None, no_energy))
    return out


def _ci_or_note(low, high, confidence, digits) -> str:
    return "no CI" if missing(low) or missing(high) else ci(low, high, confidence, digits)


def efficiency_findings(study: Study, best: pd.DataFrame):
    conf = study.settings.confidence
    out: List[Finding] = []
    # (ratio, its unit, what follows the sentence); only a missing energy gets the "unavailable" line
    ratios = (("quality_per_joule", "points/J", f" {RATIO_CAVEAT}"), ("quality_per_second", "points/s", ""))
    for r in best.itertuples():
        for name, unit, tail in ratios:
            level, value = getattr(r, f"{name}_level"), getattr(r, name)
            low, high, sure = getattr(r, f"{name}_low"), getattr(r, f"{name}_high"), getattr(r, f"{name}_sure")
            words = name.replace("_", " ")
            if level:
                out.append(Finding(
                    "Q3", r.model, level,
                    f"{r.model}: highest ratio {words} at {level}: {num(value, 3)} {unit} "
                    f"({ci(low, high, conf, 3)}; highest in {num(100 * sure, 0)}% of bootstrap resamples).{tail}",
                    value, low, high))
            elif name == "quality_per_joule":
                out.append(Finding("Q3", r.model, None, f"{r.model}: quality per joule unavailable "
                                                        "(no energy measured or no scores)."))
    return out


RATIO_CAVEAT = ("(A ratio of means: a 0-10 score has no true zero, so the ratio ranks cost more than value; "
                "the Pareto front and the marginal costs answer the trade-off.)")


def pareto_findings(study: Study, pareto: pd.DataFrame) -> List[Finding]:
    out = []
    for (model, cost), own in pareto.groupby(["model", "cost"], sort=False):
        front = own[own["on_front"]]
        out.append(Finding("Q3", model, None,
                           f"{model}: Pareto front of quality vs {COST_WORDS[cost]}: "
                           + ", ".join(f"{r.level} (on the front in {num(100 * r.front_share, 0)}% of resamples)"
                                       for r in front.itertuples()) + "."))
    return out


COST_WORDS = {"energy_j": "energy", "latency_ms": "latency"}


def edge_findings(study: Study, summary: pd.DataFrame, recommendation: Optional[dict]):
    conf = study.settings.confidence
    if recommendation is None:
        return [Finding("Q4", "(all models)", None, "No judged scores: models cannot be compared on quality.")]
    pick, best, cost, margin = (recommendation[k] for k in ("pick", "best", "cost", "margin"))
    unit = "J" if cost == "energy_j" else "ms"
    digits = 3 if cost == "energy_j" else 0
    lead = "Only one model was measured. " if len(study.models) == 1 else ""
    if cost == "latency_ms":
        lead += "Energy was not measured, so the cost is latency. "
    front = summary[summary["pareto"] == True]  # noqa: E712 - object column holding True/False/None
    text = (f"{lead}Rule: among the Pareto configurations of quality vs {COST_WORDS[cost]}, the cheapest whose mean "
            f"quality is within {margin:g} points (report.quality_margin) of the best. Recommended: "
            f"{pick['model']} at {pick['level']}: quality {num(pick['quality'])} "
            f"({ci(pick['quality_low'], pick['quality_high'], conf)}), {COST_WORDS[cost]} "
            f"{num(pick[cost], digits)} {unit} ({ci(pick[f'{cost}_low'], pick[f'{cost}_high'], conf, digits)}), "
            f"n = {int(pick['n'])}. Best quality: {best['model']} at {best['level']} ({num(best['quality'])}, "
            f"{ci(best['quality_low'], best['quality_high'], conf)}; {COST_WORDS[cost]} {num(best[cost], digits)} "
            f"{unit}). Pareto front: " + ", ".join(f"{r.model} {r.level}" for r in front.itertuples()) + ".")
    gap = best["quality"] - pick["quality"]
    if not missing(pick["quality_high"]) and pick["quality_high"] < best["quality_low"]:
        text += (f" The recommended configuration is {num(gap)} points below the best, within the margin, but "
                 "their intervals do not overlap: choose the best if quality matters more than "
                 f"{COST_WORDS[cost]}.")
    return [Finding("Q4", str(pick["model"]), str(pick["level"]), text, pick["quality"], pick["quality_low"],
                    pick["quality_high"])]


def answer_questions(study: Study, summary, best, tests, model_tests, mixed=None, marginal=None,
                     recommendation=None, mde=None, pareto=None, sensitivity=None, pooled=None) -> List[Finding]:
    return (pooled_findings(study, pooled) + mixed_findings(study, mixed)
            + quality_findings(study, tests, model_tests, summary)
            + mde_finding(study, mde or {}) + sensitivity_findings(study, sensitivity)
            + cost_findings(study, marginal) + efficiency_findings(study, best) + pareto_findings(study, pareto)
            + edge_findings(study, summary, recommendation))
