"""The six workbooks: quality_scores_detailed, model_comparison and four per-run metric workbooks."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pandas as pd

from ..layout import WORKBOOKS
from .analysis import Analysis, load_analysis
from .data import DIMENSIONS, MODE
from .dataquality import energy_reason
from .findings import question_text
from .mode_sheets import write_mode_sheets
from .stats import measured, row_set_note
from .xlsx import SCALES, Book, Col, about_sheet, write_cell, write_notes, write_table


def _ci_cols(key: str, header: str, fmt: str, scale: Optional[str] = None) -> List[Col]:
    return [Col(key, header, fmt, scale=scale), Col(f"{key}_low", f"{header} CI low", fmt),
            Col(f"{key}_high", f"{header} CI high", fmt)]


COMPARISON = [
    Col("model", "model"), Col("level", "level"), Col("runs", "runs", "int"), Col("scored", "scored runs", "int"),
    Col("n", "n (runs behind every mean)", "int"),
    *_ci_cols("quality", "quality (0-10)", "f2", "high"),
    *[col for d in DIMENSIONS for col in _ci_cols(d, f"{d} (0-2.5)", "f2")],
    Col("reference_match", "final result agrees with the reference (share)", "pct", scale="high"),
    Col("reference_match_n", "n (answers with a reference)", "int"),
    *_ci_cols("latency_ms", "latency ms", "int", "low"), Col("latency_ms_ci_method", "latency CI method", width=40),
    Col("ttft_ms", "TTFT ms", "int", scale="low"), Col("prefill_tok_s", "prefill tok/s", "f1"),
    Col("decode_tok_s", "decode tok/s", "f1", scale="high"),
    *_ci_cols("energy_j", "energy J", "f3", "low"), Col("energy_j_ci_method", "energy CI method", width=40),
    Col("energy_total_per_token_j", "net energy J / completion token", "f4", scale="low"),
    Col("prompt_tokens", "prompt tokens", "f1"), Col("completion_tokens", "completion tokens", "f1"),
    *_ci_cols("quality_per_joule", "quality per J (ratio)", "f4", "high"),
    *_ci_cols("quality_per_second", "quality per s (ratio)", "f3", "high"),
    Col("pareto", "Pareto front"), Col("best_for", "best level of this model for"),
]
BEST = [Col("model", "model")] + [
    col for metric, label, fmt in (("quality", "quality", "f2"), ("quality_per_joule", "quality per J (ratio)", "f4"),
                                   ("quality_per_second", "quality per s (ratio)", "f3"))
    for col in (Col(f"{metric}_level", f"best level by {label}"), Col(metric, label, fmt),
                Col(f"{metric}_low", f"{label} CI low", fmt), Col(f"{metric}_high", f"{label} CI high", fmt),
                Col(f"{metric}_sure", f"share of resamples where best ({label})", "pct"),
                Col(f"{metric}_n", f"n ({label})", "int"),
                Col(f"{metric}_set", f"cannot be told apart from the best ({label})"),
                Col(f"{metric}_winner", f"single winner, only when separated ({label})"))
]
BEST_SETS = [
    Col("model", "model"), Col("metric", "metric"), Col("level", "level"), Col("estimate", "estimate", "f4"),
    Col("p_best", "P(best): share of resamples where best", "pct", scale="high"),
    Col("gap_to_best", "best - this", "f4"), Col("gap_low", "best - this, simultaneous lower bound", "f4"),
    Col("in_set", "cannot be told apart from the best"), Col("set", "the set"),
    Col("winner", "single winner (only when separated)"), Col("set_size", "set size", "int"), Col("n", "n", "int"),
    Col("rule", "rule", width=60),
]
STABILITY = [
    Col("model", "model"), Col("level", "level"), Col("wins_share", "share of resamples it is recommended", "pct"),
    Col("model_wins_share", "share of resamples its model is recommended", "pct"),
    Col("recommended", "recommended"), Col("runner_up", "runner-up model"),
]
CORRECTNESS = [
    Col("model", "model"), Col("level", "level"), Col("n", "n (answers with a reference)", "int"),
    Col("matches", "agree with the reference", "f1"), Col("rate", "correctness (share)", "pct", scale="high"),
    Col("rate_low", "Wilson CI low", "pct"), Col("rate_high", "Wilson CI high", "pct"),
    Col("questions", "questions", "int"),
]
CORRECTNESS_CONTRASTS = [
    Col("model", "model"), Col("contrast", "contrast"), Col("estimate", "difference (share)", "f3"),
    Col("ci_low", "CI low", "f3"), Col("ci_high", "CI high", "f3"), Col("n", "n (paired questions)", "int"),
    Col("test", "test"), Col("p_raw", "p", "p"), Col("p_adj", "p (Holm)", "p"),
    Col("family_size", "family size", "int"), Col("direction", "result"),
]
CATEGORY = [
    Col("model", "model"), Col("category", "category"), Col("level", "level"), Col("runs", "runs", "int"),
    Col("scored", "scored runs", "int"), Col("quality", "quality (0-10)", "f2", scale="high"),
    Col("latency_ms", "latency ms", "int", scale="low"), Col("energy_j", "energy J", "f3", scale="low"),
    Col("completion_tokens", "completion tokens", "f1"),
]
LEVEL_TESTS = [
    Col("model", "model"), Col("contrast", "contrast"), Col("level", "level"), Col("baseline", "vs"),
    Col("pairs", "n (paired questions)", "int"),
    *_ci_cols("quality_diff", "quality difference", "f2", "high"),
    Col("p", "p (sign-flip permutation)", "p"), Col("p_holm", "p (Holm)", "p"),
    Col("family_size", "family size", "int"), Col("effect_dz", "effect size d_z", "f2"),
    Col("significant", "significant"), Col("direction", "result"), Col("mde", "mde (80 % power)", "f2"),
    *_ci_cols("latency_diff_ms", "latency difference ms", "int"),
    *_ci_cols("energy_diff_j", "energy difference J", "f3"),
    Col("cost_ci_method", "latency/energy CI method", width=40),
    *_ci_cols("completion_diff", "completion tokens difference", "f1"),
    Col("raw_diff", "difference with question fixed effects", "f2"),
    Col("adjusted_diff", "length-adjusted difference (descriptive, within question)", "f2"),
    Col("adjusted_low", "equal length CI low", "f2"), Col("adjusted_high", "equal length CI high", "f2"),
    Col("adjusted_p_holm", "equal length p (Holm)", "p"), Col("length_verdict", "within-question length control"),
]
CONTRASTS = [
    Col("model", "model"), Col("contrast", "contrast"), Col("metric", "metric"), Col("estimate", "estimate", "f3"),
    Col("ci_low", "ci_low", "f3"), Col("ci_high", "ci_high", "f3"), Col("p_raw", "p_raw", "p"),
    Col("p_adj", "p_adj", "p"), Col("family_size", "family_size", "int"), Col("n", "n", "int"),
    Col("effect_dz", "effect size d_z", "f2"), Col("significant", "significant"),
    Col("tost_p_adj", "equivalence p (TOST, Holm)", "p"), Col("equivalence", "equivalence", width=26),
    Col("mde", "mde", "f3"), Col("mde_alpha", "mde at alpha (Holm's most stringent)", "p"),
]
POOLED = [
    Col("contrast", "contrast"), Col("metric", "metric"), Col("estimate", "estimate (pooled over models)", "f3"),
    Col("ci_low", "ci_low", "f3"), Col("ci_high", "ci_high", "f3"), Col("se", "SE", "f3"), Col("p_raw", "p_raw", "p"),
    Col("p_adj", "p_adj (Holm)", "p"), Col("family_size", "family_size", "int"),
    Col("tost_p_adj", "equivalence p (TOST, Holm)", "p"), Col("equivalence", "equivalence", width=26),
    Col("mde", "mde", "f3"), Col("models", "models", "int"), Col("questions", "questions", "int"),
    Col("n", "n (scored runs)", "int"), Col("formula", "model", width=50), Col("note", "note", width=30),
]
MIXED = [
    Col("metric", "metric"), Col("test", "test"), Col("chi2", "LR chi2", "f2"), Col("df", "df", "int"),
    Col("p", "p", "p"), Col("n", "n (scored runs)", "int"), Col("questions", "questions", "int"),
    Col("question_sd", "question SD", "f3"), Col("residual_sd", "residual SD", "f3"),
    Col("converged", "converged"), Col("formula", "model"), Col("note", "note", width=50),
]
PARETO = [
    Col("model", "model"), Col("level", "level"), Col("cost", "cost"), Col("quality", "quality (0-10)", "f2"),
    Col("cost_value", "cost (J or ms)", "f3"), Col("on_front", "on the front"),
    Col("front_share", "share of resamples on the front", "pct", scale="high"), Col("n", "n", "int"),
    Col("plausible_front", "cannot be told apart from the front"), Col("dominated_by", "surely dominated by"),
]
MARGINAL = [
    Col("model", "model"), Col("level", "level"), Col("baseline", "vs"), Col("n", "n (paired questions)", "int"),
    *_ci_cols("quality_gain", "quality gain", "f2"), *_ci_cols("extra_energy_j", "extra J", "f3"),
    *_ci_cols("extra_latency_ms", "extra ms", "int"), *_ci_cols("joules_per_point", "extra J per quality point", "f3"),
    *_ci_cols("ms_per_point", "extra ms per quality point", "int"), Col("note", "note", width=60),
    Col("cost_ci_method", "extra J / ms CI method", width=40),
]
SENSITIVITY = [
    Col("model", "model"), Col("contrast", "contrast"), Col("estimate", "quality difference", "f2"),
    Col("ci_low", "CI low", "f2"), Col("ci_high", "CI high", "f2"), Col("n", "n", "int"),
    Col("truncated_runs", "truncated runs (finish_reason length)", "int"),
    Col("estimate_without", "difference without truncated", "f2"), Col("ci_low_without", "CI low", "f2"),
    Col("ci_high_without", "CI high", "f2"), Col("n_without", "n without", "int"),
    Col("p_adj_without", "p (Holm) without", "p"),
]
MODEL_TESTS = [
    Col("model", "model"), Col("levels", "levels", "int"),
    Col("complete_questions", "questions scored at all levels", "int"), Col("friedman_chi2", "Friedman chi2", "f2"),
    Col("friedman_p", "Friedman p", "p"), Col("kendall_w", "Kendall's W", "f3"),
    Col("length_coef", "quality per 100 completion tokens", "f3"), Col("length_low", "length CI low", "f3"),
    Col("length_high", "length CI high", "f3"), Col("length_p", "length p", "p"),
    Col("conciseness_length_rho", "Spearman conciseness vs length", "f3"),
    Col("conciseness_length_p", "p (conciseness)", "p"),
    Col("quality_length_rho", "Spearman quality vs length", "f3"), Col("quality_length_p", "p (quality)", "p"),
    Col("bias_n", "n (scored runs)", "int"),
]
ROOFLINE = [
    Col("model", "model"), Col("level", "level"), Col("device", "device"), Col("board", "board (table key)"),
    Col("bandwidth_gb_s", "bandwidth GB/s", "f1"), Col("model_bytes", "model bytes", "int"),
    Col("roofline_tok_s", "roofline tok/s", "f1"), Col("decode_tok_s", "decode tok/s", "f1"),
    Col("roofline_share", "share of roofline", "pct", scale="high"), Col("note", "note"),
]
FINDINGS = [
    Col("question", "question"), Col("question_text", "asks", width=40), Col("model", "model"),
    Col("level", "level"), Col("text", "answer", "wrap", width=110), Col("value", "estimate", "f4"),
    Col("low", "CI low", "f4"), Col("high", "CI high", "f4"), Col("p", "p (Holm)", "p"),
]
JUDGE_AGREEMENT = [
    Col("measure", "measure"), Col("score", "score"), Col("judge", "judge"), Col("other_judge", "other judge"),
    Col("value", "value", "f3", scale="high"), Col("n_answers", "n (answers compared)", "int"),
    Col("note", "note", width=60),
]
DATA_QUALITY = [
    Col("model", "model"), Col("level", "level"), Col("runs", "runs", "int"), Col("ok_runs", "ok runs", "int"),
    Col("error_runs", "failed runs", "int"), Col("scored", "scored", "int"),
    Col("parse_errors", "judge parse errors", "int"), Col("run_errors", "failed runs not judged", "int"),
    Col("missing_scores", "no score row", "int"), Col("total_mismatch", "total not the sum of dimensions", "int"),
    Col("usable", "usable (in the analysis)", "int"), Col("energy_runs", "energy measured", "int"),
    Col("energy_missing", "energy missing", "int"), Col("energy_missing_reason", "why energy is missing", width=80),
]
OVERVIEW = [
    Col("model", "model"), Col("level", "level"), Col("runs", "runs", "int"), Col("scored", "scored", "int"),
    Col("parse_errors", "judge parse errors", "int"), Col("no_score", "no score", "int"),
    *[Col(d, f"{d} (0-2.5)", "f2", scale="high") for d in DIMENSIONS],
    *_ci_cols("quality", "total (0-10)", "f2", "high"),
]
DETAIL = [
    Col("question_id", "question", "int"), Col("category", "category"), Col("level", "level"),
    *[Col(d, d, "f2") for d in DIMENSIONS], Col("quality", "total (0-10)", "f2", scale="high"),
    Col("judge_status", "judge status"), Col("reason", "reason", "wrap", width=90),
]

# per-run workbooks: (value column, label, number format, colour scale, extra long-sheet columns)
METRICS = {
    "energy_per_run": ("energy_j", "energy J (net of idle)", "f3", "low",
                       [Col("energy_gross_j", "energy gross J", "f3"),
                        Col("energy_per_token_j", "decode energy J / completion token", "f4"),
                        Col("mean_power_mw", "mean power mW", "int"), Col("idle_power_mw", "idle power mW", "int"),
                        Col("power_source", "power source"), Col("power_samples", "power samples", "int")]),
    "latency_per_run": ("latency_ms", "latency ms", "int", "low",
                        [Col("ttft_ms", "TTFT ms", "int"), Col("prefill_tok_s", "prefill tok/s", "f1"),
                         Col("decode_tok_s", "decode tok/s", "f1")]),
    "output_tokens_per_run": ("completion_tokens", "completion tokens", "int", "neutral",
                              [Col("finish_reason", "finish reason")]),
    "prompt_tokens_per_run": ("prompt_tokens", "prompt tokens", "int", "neutral", []),
}


def common_notes(analysis: Analysis, what: str) -> List[tuple]:
    study, s = analysis.study, analysis.study.settings
    notes = [("workbook", what)]
    if s.demo_note:
        notes.append(("judge note", s.demo_note))
    if s.prompt_generator:
        notes.append(("prompt levels", s.prompt_generator))
    notes += [
        ("runs file", f"{study.runs_path} ({len(study.runs)} runs)"),
        ("scores file", f"{study.scores_path} ({study.score_rows} rows)" if study.scores_path else "none given"),
        ("empty cells", "An empty cell is a value that was not measured or not available, never 0. "
                        "The data_quality sheet of model_comparison.xlsx says why for every (model, level)."),
        ("confidence intervals", f"{s.confidence:.0%} percentile intervals from a question-clustered bootstrap "
                                 f"({s.bootstrap_samples} resamples, seed {s.seed}): questions are resampled, the "
                                 "same draw for every level of a model, so differences and ratios stay paired. "
                                 "Below 50 questions the percentile interval is expanded (Hesterberg 2015: its "
                                 "tails moved to sqrt(n/(n-1)) Student t quantiles), which it otherwise undercovers. "
                                 "Energy and latency: a studentized shard bootstrap (categories, then questions), "
                                 "method and n in the *_ci_method columns."),
        ("quality", "total_score 0-10 (four judge dimensions of 0-2.5); averaged only over runs the judge scored "
                    "(judge_status ok). Parse errors and failed runs are counted, never averaged."),
        ("baseline level", study.baseline),
    ]
    return notes


def _best_for(analysis: Analysis) -> pd.Series:
    labels = {}
    for r in analysis.best.itertuples():
        for metric, label in (("quality", "quality"), ("quality_per_joule", "quality per J"),
                              ("quality_per_second", "quality per s")):
            level = getattr(r, f"{metric}_level")
            if level:
                labels.setdefault((r.model, level), []).append(label)
    keys = zip(analysis.summary["model"], analysis.summary["level"])
    return pd.Series(["; ".join(labels.get(k, [])) or None for k in keys], index=analysis.summary.index)


def _findings_frame(analysis: Analysis) -> pd.DataFrame:
    baseline = analysis.study.baseline
    return pd.DataFrame([{"question": f.question, "question_text": question_text(f.question, baseline),
                          "model": f.model, "level": f.level, "text": f.text, "value": f.value, "low": f.low,
                          "high": f.high, "p": f.p} for f in analysis.findings])


def _png_size(png: bytes):
    width, height = struct.unpack(">II", png[16:24])
    return width, height


IMAGE_SCALE = 0.3  # the 300-dpi PNGs at about screen size


def _plots_sheet(book: Book, figures: Dict[str, Dict[str, bytes]]) -> None:
    ws = book.sheet("plots")
    row = 0
    for name, encoded in figures.items():
        png = encoded["png"]
        ws.write_string(row, 0, name, book.formats["title"])
        options = {"image_data": io.BytesIO(png), "x_scale": IMAGE_SCALE, "y_scale": IMAGE_SCALE,
                   "object_position": 3}
        ws.insert_image(row + 1, 0, f"{name}.png", options)
        row += 3 + int(_png_size(png)[1] * IMAGE_SCALE / 20)


def _decision_sheets(book: Book, analysis: Analysis) -> None:
    """best_level_sets, recommendation_stability and (only where references exist) correctness."""
    if analysis.best_sets is not None:
        write_table(book, book.sheet("best_level_sets"), analysis.best_sets, BEST_SETS, freeze_cols=3)
    if analysis.stability is not None and len(analysis.stability):
        write_table(book, book.sheet("recommendation_stability"), analysis.stability, STABILITY, freeze_cols=2)
    if analysis.correctness is not None:
        rates, contrasts = analysis.correctness
        ws = book.sheet("correctness")
        end = write_table(book, ws, rates, CORRECTNESS, freeze_cols=2)
        write_table(book, ws, contrasts, CORRECTNESS_CONTRASTS, top=end + 1, freeze=False, autofilter=False)


def comparison_book(analysis: Analysis, figures: Dict[str, Dict[str, bytes]]) -> Book:
    book = Book()
    summary = analysis.summary.assign(best_for=_best_for(analysis))
    write_table(book, book.sheet("comparison"), summary, COMPARISON, freeze_cols=2)
    write_table(book, book.sheet("best_levels"), analysis.best, BEST, freeze_cols=1)
    _decision_sheets(book, analysis)
    write_table(book, book.sheet("by_category"), analysis.categories, CATEGORY, freeze_cols=3)
    write_table(book, book.sheet("statistics"), analysis.tests, LEVEL_TESTS, freeze_cols=2)
    if analysis.pooled is not None:  # Q1's primary answer, before the per-model contrasts
        write_table(book, book.sheet("pooled_effects"), analysis.pooled, POOLED, freeze_cols=1)
    write_table(book, book.sheet("contrasts"), analysis.contrasts, CONTRASTS, freeze_cols=3)
    write_table(book, book.sheet("mixed_model"), analysis.mixed, MIXED, freeze_cols=2)
    write_table(book, book.sheet("pareto"), analysis.pareto, PARETO, freeze_cols=3)
    write_table(book, book.sheet("marginal_costs"), analysis.marginal, MARGINAL, freeze_cols=2)
    write_table(book, book.sheet("sensitivity"), analysis.sensitivity, SENSITIVITY, freeze_cols=2)
    write_table(book, book.sheet("model_tests"), analysis.model_tests, MODEL_TESTS, freeze_cols=1)
    write_table(book, book.sheet("roofline"), analysis.roofline, ROOFLINE, freeze_cols=2)
    write_mode_sheets(book, analysis)  # several power modes: the comparison, Pareto and contrasts per mode
    if analysis.agreement is not None:
        write_table(book, book.sheet("judge_agreement"), analysis.agreement, JUDGE_AGREEMENT, freeze_cols=1)
    write_table(book, book.sheet("findings"), _findings_frame(analysis), FINDINGS)
    ws = book.sheet("data_quality")
    end = write_table(book, ws, analysis.quality, DATA_QUALITY, freeze_cols=2)
    write_notes(book, ws, analysis.notes, top=end + 1, title="Notes")
    if figures:
        _plots_sheet(book, figures)
    what = ("Model x level comparison: quality with confidence intervals, latency, energy, efficiency, "
            "statistics, findings, data quality.")
    about_sheet(book, common_notes(analysis, what) + [
        ("rows", row_set_note(analysis.study.runs)),
        ("quality per J / per s", "ratios: mean quality / mean energy (J) and / mean latency (s) of the same model "
                                  "and level; their CIs come from the same bootstrap. A 0-10 score has no true zero, "
                                  "so a ratio ranks cost more than value: read the pareto and marginal_costs sheets."),
        ("net energy J / completion token", "energy_total_per_token_j: sum of net energy (prefill and decode) / sum "
                                            "of completion tokens over runs with both measured. Not "
                                            "energy_per_token_j, which is decode energy / completion tokens "
                                            "(energy_per_run.xlsx)."),
        ("energy and latency CIs", "shard-aware: categories (a shard is model x level x category) resampled, then "
                                   "questions within, studentized (report/shards.py); method and n in the "
                                   "*_ci_method columns. Quality keeps the question bootstrap."),
        ("best_level_sets", "the levels that cannot be told apart from the best, per model and metric: "
                            "multiple comparisons with the best (max-t over all pairs, question-clustered "
                            "bootstrap); P(best) = share of resamples in which a level is best. A single winner is "
                            "named only when the set has one member."),
        ("correctness", "where references exist: share of answers whose result agrees with the reference, Wilson "
                        "intervals; paired contrasts (exact McNemar, or sign-flip where cells are averages), Holm "
                        "over the correctness family. Beside, never inside, the 0-10 total."),
        ("reference agreement", "share of the scored answers to questions with a reference whose final result "
                                "the judge found to agree with it (score column reference_match); n beside it."),
        ("judge_agreement", "repeat agreement of each judge over the answers judged twice (judge.repeat_fraction, "
                            "judge.repeats): ICC(2,1) (two-way random, absolute agreement, single verdict) and "
                            "Krippendorff's alpha (interval); between judges Spearman's rho and weighted kappa. "
                            "Where answers were judged more than once, the quality CIs resample each such run's "
                            "verdicts inside the bootstrap (judge noise); the point estimate is their mean."),
        ("mixed_model", "the primary analysis: per metric, a linear mixed model metric ~ level x model + "
                        "(1 | question) (+ (1 | question:variant) when the prompts have several variants), fitted "
                        "by maximum likelihood "
                        "(statsmodels MixedLM); likelihood-ratio tests of the overall level effect and of the "
                        "level x model interaction."),
        ("pooled_effects", "question 1's primary answer: each declared contrast pooled over the models, from the "
                           "mixed model quality ~ level + model + (1 | question) + (1 | question:model) (ML); Wald "
                           "CI and p, Holm over the pooled family (family_size); equivalence = the verdict (better, "
                           "worse, equivalent within the margin report.equivalence_margin by TOST, or "
                           "inconclusive); mde = the true effect found with 80 % power at alpha / family_size."),
        ("contrasts", "declared family per metric: each level vs the baseline, the padding level vs the level "
                      "it pads and the successive levels (L2 vs L1, L3 vs L2: the levels are cumulative), for "
                      "every model. equivalence: better or worse when p_adj < alpha, else equivalent within "
                      "±report.equivalence_margin when the TOST (two one-sided paired t-tests, Holm over the same "
                      "family) rejects, else inconclusive (never 'no difference'); mde: the true difference a "
                      "sign-flip test finds with 80 % power in a Holm family of family_size tests (the others null; "
                      "simulated), the most stringent level alpha / family_size in mde_alpha, "
                      "times this contrast's observed SD of per-question differences. "
                      "estimate = mean per-question difference (a question's prompt "
                      "variants averaged first) with its bootstrap CI; "
                      "p_raw from a paired sign-flip permutation test of that mean (seeded); p_adj = Holm over the "
                      "whole family of the metric (statsmodels multipletests), family_size tests."),
        ("statistics", "the quality rows of contrasts with the paired cost differences of the same contrast and "
                       "the within-question length control: OLS quality ~ level + question fixed effects + "
                       "completion tokens, standard errors clustered by question, Holm over the family. Friedman "
                       "(model_tests) is secondary. The length adjustment is descriptive: the level changes the "
                       "answer's length (a post-treatment variable), so 'at equal length' compares answers of equal "
                       "length; it assumes length is not on the path from level to quality, which it partly is. "
                       "Latency and energy differences resample shards (report/shards.py; method beside them)."),
        ("pareto", "per model, the levels no other level of that model beats on both quality and cost (energy, "
                   "latency), and the share of bootstrap resamples in which each level is on that front."),
        ("marginal_costs", "each level vs the baseline: paired mean differences and extra J and ms per extra "
                           "quality point (ratio of the mean differences), with bootstrap CIs; no CI where the "
                           "quality gain's CI includes 0."),
        ("sensitivity", "the quality contrasts again without answers cut at max_tokens (finish_reason length); "
                        "empty when no answer was cut."),
        ("roofline", "decode tok/s / (memory bandwidth / model file bytes): each generated token reads every weight "
                     "once. Bandwidth from config report.memory_bandwidth_gb_s, matched in the run's device string."),
        ("Pareto front", "(model, level) points no other point beats on both cost (energy, or latency when no "
                         "energy was measured) and quality."),
    ])
    return book


def quality_book(analysis: Analysis) -> Book:
    book = Book()
    write_table(book, book.sheet("overview"), analysis.summary, OVERVIEW, freeze_cols=2)
    runs = analysis.study.runs
    level_rank = {lvl: i for i, lvl in enumerate(analysis.study.levels)}
    for model in analysis.study.models:
        own = runs[runs["model_id"] == model].copy()
        own = own.assign(_rank=own["level"].map(level_rank)).sort_values(["question_id", "variant", "_rank",
                                                                          "power_mode_id"])
        write_table(book, book.sheet(model), own, with_variant(DETAIL, analysis.study), freeze_cols=1)
    what = ("Judge scores per question: one sheet per model (the four dimensions, the total, the judge's reason "
            "and status) and an overview.")
    about_sheet(book, common_notes(analysis, what))
    return book


def with_variant(columns: List[Col], study) -> List[Col]:
    """Per-run columns, with a variant column after the question's where the study has prompt variants, and the
    power mode's where it has several (jetson.power_modes)."""
    extra = [Col("variant", "variant", "int")] if len(study.variants) > 1 else []
    extra += [Col(MODE, "power mode")] if len(study.modes) > 1 else []
    if not extra:
        return columns
    at = next(i for i, col in enumerate(columns) if col.key == "question_id") + 1
    return [*columns[:at], *extra, *columns[at:]]


def _matrix_sheet(book: Book, frame: pd.DataFrame, analysis: Analysis, value: str, fmt: str, scale: str) -> None:
    """question (and variant, where there are several) x (model, level): two header rows (model, then level)."""
    ws = book.sheet("matrix")
    study = analysis.study
    pairs = [(m, lvl) for m in study.models for lvl in study.levels
             if ((frame["model_id"] == m) & (frame["level"] == lvl)).any()]
    rows = ["question_id", "variant"] if len(study.variants) > 1 else ["question_id"]
    rows += [MODE] if len(study.modes) > 1 else []  # several power modes: a row per question and mode
    table = frame.pivot(index=rows, columns=["model_id", "level"], values=value).reindex(columns=pairs)
    categories = frame.groupby("question_id")["category"].first()
    header = book.formats["header"]
    labels = ["question", *(["variant"] if "variant" in rows else []), *(["power mode"] if MODE in rows else []),
              "category"]
    first_value = len(labels)
    for c, text in enumerate(labels):
        ws.write_string(0, c, "", header)
        ws.write_string(1, c, text, header)
    for c, (model, level) in enumerate(pairs, start=first_value):
        first = c == first_value or pairs[c - first_value - 1][0] != model
        ws.write_string(0, c, model if first else "", header)
        ws.write_string(1, c, level, header)
    number = book.formats[fmt]
    for r, (index, row) in enumerate(table.iterrows(), start=2):
        index = index if isinstance(index, tuple) else (index,)
        for c, part in enumerate(index):
            write_cell(ws, r, c, part)
        write_cell(ws, r, len(index), categories.get(index[0]))
        for c, v in enumerate(row.to_numpy(), start=first_value):
            write_cell(ws, r, c, v, number)
    last = 1 + len(table)
    end = first_value - 1 + len(pairs)
    ws.set_column(0, first_value - 1, 12)
    ws.set_column(first_value, end, 11)
    if len(table) and pairs:
        ws.conditional_format(2, first_value, last, end, SCALES[scale])
    ws.freeze_panes(2, first_value)
    ws.autofilter(1, 0, max(last, 1), end)


def _metric_summary(frame: pd.DataFrame, value: str, analysis: Analysis) -> pd.DataFrame:
    grouped = frame.groupby(["model_id", "level"], sort=False)[value]
    table = grouped.agg(n="count", mean="mean", median="median", std="std", min="min", max="max").reset_index()
    table["missing"] = grouped.size().to_numpy() - table["n"]
    rank_m = {m: i for i, m in enumerate(analysis.study.models)}
    rank_l = {lvl: i for i, lvl in enumerate(analysis.study.levels)}
    table = table.sort_values(["model_id", "level"], key=lambda s: s.map(rank_m if s.name == "model_id" else rank_l))
    return table.rename(columns={"model_id": "model"})


def metric_book(analysis: Analysis, name: str) -> Book:
    value, label, fmt, scale, extra = METRICS[name]
    book = Book()
    frame = measured(analysis.study.runs)
    _matrix_sheet(book, frame, analysis, value, fmt, scale)
    if value == "energy_j":
        columns = zip(frame["energy_j"], frame["status"], frame["power_source"], frame["energy_note"])
        note = [None if pd.notna(v) and s == "ok" else energy_reason(s, src, n) for v, s, src, n in columns]
    else:
        note = [None if s == "ok" else f"run failed: {e or 'no message'}"
                for s, e in zip(frame["status"], frame["error"])]
    level_rank = {lvl: i for i, lvl in enumerate(analysis.study.levels)}
    model_rank = {m: i for i, m in enumerate(analysis.study.models)}
    long = frame.assign(note=note, _m=frame["model_id"].map(model_rank), _l=frame["level"].map(level_rank))
    long = long.sort_values(["_m", "_l", "question_id", "variant", "power_mode_id"])
    cols = with_variant([Col("model_id", "model"), Col("level", "level"), Col("question_id", "question", "int"),
                         Col("category", "category"), Col(value, label, fmt, scale=scale), *extra,
                         Col("status", "status"), Col("note", "why empty", width=70)], analysis.study)
    write_table(book, book.sheet("long"), long, cols, freeze_cols=3)
    stats = [Col("model", "model"), Col("level", "level"), Col("n", "values", "int"), Col("missing", "missing", "int"),
             Col("mean", f"mean {label}", fmt), Col("median", "median", fmt), Col("std", "std", fmt),
             Col("min", "min", fmt), Col("max", "max", fmt)]
    write_table(book, book.sheet("summary"), _metric_summary(frame, value, analysis), stats, freeze_cols=2)
    what = (f"{label} per run: a question x (model, level) matrix, a long table with the related measurements, "
            "and per (model, level) statistics.")
    about_sheet(book, common_notes(analysis, what)
                + ([("energy", dict(analysis.notes)["energy"])] if value == "energy_j" else [])
                + [("failed runs", "a failed run (status error) has no measurements here; see the long sheet.")])
    return book


BUILDERS: Dict[str, Callable] = {
    "quality_scores_detailed": lambda a, figures: quality_book(a),
    "model_comparison": comparison_book,
    **{name: (lambda a, figures, name=name: metric_book(a, name)) for name in METRICS},
}


def write_workbooks(analysis: Analysis, outdir, figures: Optional[Dict[str, Dict[str, bytes]]] = None) -> List[Path]:
    """Build all six in memory first, then write each atomically: a failure leaves no partial workbook."""
    if figures is None:
        from .plots import render_figures

        figures = render_figures(analysis)
    books = [(name, BUILDERS[name](analysis, figures)) for name in WORKBOOKS]
    outdir = Path(outdir)
    return [book.save(outdir / f"{name}.xlsx") for name, book in books]


def build_workbooks(runs_path, scores_path, outdir, settings=None) -> List[Path]:
    """The six workbooks from the merged runs and scores; returns their paths."""
    return write_workbooks(load_analysis(runs_path, scores_path, settings), outdir)
