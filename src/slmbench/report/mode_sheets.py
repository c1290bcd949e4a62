"""The power-mode sheets of model_comparison.xlsx (a study of several jetson.power_modes; modes.py computes
them): the comparison, Pareto front, contrasts and mixed model per mode, and the identical-answer counts."""

from __future__ import annotations

from typing import List

from .modes import MODE
from .xlsx import Book, Col, write_table


def _ci(key: str, header: str, fmt: str, scale=None) -> List[Col]:
    return [Col(key, header, fmt, scale=scale), Col(f"{key}_low", f"{header} CI low", fmt),
            Col(f"{key}_high", f"{header} CI high", fmt)]


CONFIG = [Col("model", "model"), Col("level", "level"), Col(MODE, "power mode")]
COMPARISON = CONFIG + [
    Col("n", "n (questions behind every mean)", "int"), *_ci("quality", "quality (0-10)", "f2", "high"),
    *_ci("latency_ms", "latency ms", "int", "low"), *_ci("energy_j", "energy J", "f3", "low"),
    *_ci("tokens_per_joule", "output tokens per J (net energy of the answer)", "f2", "high"),
    Col("ttft_ms", "TTFT ms", "int", scale="low"), Col("decode_tok_s", "decode tok/s", "f1", scale="high"),
    Col("pareto", "on the study-wide front (model, level, mode)"),
]
PARETO = CONFIG + [
    Col("cost", "cost"), Col("quality", "quality (0-10)", "f2"), Col("cost_value", "cost (J or ms)", "f3"),
    Col("on_front", "on the front"), Col("front_share", "share of resamples on the front", "pct", scale="high"),
    Col("n", "n", "int"),
]
CONTRASTS = CONFIG + [
    Col("reference", "vs mode"), Col("metric", "metric"), Col("n", "n (paired questions)", "int"),
    Col("estimate", "mean difference", "f3"), Col("ci_low", "CI low", "f3"), Col("ci_high", "CI high", "f3"),
    Col("p", "p (sign-flip permutation)", "p"), Col("p_holm", "p (Holm)", "p"), Col("significant", "significant"),
]
MIXED = [
    Col("metric", "metric"), Col("test", "test"), Col("chi2", "LR chi2", "f2"), Col("df", "df", "int"),
    Col("p", "p", "p"), Col("n", "n (runs)", "int"), Col("questions", "questions", "int"),
    Col("converged", "converged"), Col("formula", "model", width=60), Col("note", "note", width=50),
]
IDENTICAL = [
    Col("model", "model"), Col("prompts", "prompts measured in several modes", "int"),
    Col("identical", "the same answer in every mode", "int"), Col("share", "share identical", "pct"),
    Col("runs", "runs", "int"), Col("distinct_answers", "distinct answers (verdicts asked)", "int"),
]


def write_mode_sheets(book: Book, analysis) -> None:
    """The sheets, where the study has several power modes (nothing otherwise)."""
    modes = analysis.modes
    if modes is None or not modes.several:
        return
    write_table(book, book.sheet("comparison_by_mode"), modes.summary, COMPARISON, freeze_cols=3)
    write_table(book, book.sheet("pareto_by_mode"), modes.pareto, PARETO, freeze_cols=3)
    write_table(book, book.sheet("contrasts_by_mode"), modes.contrasts, CONTRASTS, freeze_cols=3)
    write_table(book, book.sheet("mixed_model_mode"), modes.mixed, MIXED, freeze_cols=2)
    write_table(book, book.sheet("identical_answers"), modes.identical, IDENTICAL, freeze_cols=1)
