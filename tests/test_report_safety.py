"""Reports that survive hostile text and partial data: formula injection, no energy, one model or category,
missing or failed scores, failed runs."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from slmbench.layout import PLOTS, WORKBOOKS
from slmbench.records import write_jsonl
from slmbench.report.build import build_reports
from slmbench.scores import SCORE_COLUMNS, write_score_rows
from test_report_helpers import LEVELS, make_study, sheet_rows

HOSTILE = ["=1+2", '=HYPERLINK("http://example.invalid","x")', "+SUM(A1:A2)", "-2+3", "@SUM(1)"]


def rebuild(study, run_rows=None, score_rows=None, settings=None, only=None):
    if run_rows is not None:
        write_jsonl(study["runs"], run_rows)
    if score_rows is not None:
        write_score_rows(score_rows, study["scores"])
    build_reports(study["runs"], study["scores"], study["out"], {"levels": LEVELS, **(settings or {})},
                  **({"only": only} if only else {}))


def string_cells(path, sheet, values):
    """Every cell of a sheet whose value is one of `values`, with its data type."""
    ws = openpyxl.load_workbook(path)[sheet]
    return [(c.value, c.data_type) for row in ws.iter_rows() for c in row if c.value in values]


def test_text_starting_like_a_formula_is_written_as_text(tmp_path):
    outputs = {("=1+2", "L0", 81): HOSTILE[1], ("-2+3", "L1", 82): "@SUM(1)"}
    study = make_study(tmp_path, build=False, models=("=1+2", "-2+3"), categories=("writing", "math"),
                       per_category=2, output_text=lambda m, lvl, q: outputs.get((m, lvl, q), "+SUM(A1:A2)"))
    scores = [{**row, "reason": "=1+2"} for row in study["score_rows"]]
    rebuild(study, score_rows=scores)
    out = study["out"]
    found = string_cells(out / "model_comparison.xlsx", "comparison", HOSTILE)
    assert {v for v, _ in found} == {"=1+2", "-2+3"} and all(t == "s" for _, t in found)
    book = openpyxl.load_workbook(out / "quality_scores_detailed.xlsx")
    assert {"=1+2", "-2+3"} <= set(book.sheetnames)
    reasons = string_cells(out / "quality_scores_detailed.xlsx", "=1+2", HOSTILE)
    assert reasons and all(t == "s" for _, t in reasons)
    for name in WORKBOOKS:
        book = openpyxl.load_workbook(out / f"{name}.xlsx")
        formulas = [c.coordinate for ws in book.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
        assert not formulas, (name, formulas[:5])
    matrix = string_cells(out / "energy_per_run.xlsx", "matrix", HOSTILE)
    assert {v for v, _ in matrix} == {"=1+2", "-2+3"} and all(t == "s" for _, t in matrix)
    # the CSV export defuses them for Excel; the text files keep them verbatim
    with open(out / "exported_responses/all_responses.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["model_id"] for r in rows} == {"'=1+2", "'-2+3"}
    assert any(r["output"] == "'" + HOSTILE[1] for r in rows) and all(r["reason"] == "'=1+2" for r in rows)
    text = (out / "exported_responses/responses_by_model/_1_2/Q081_L0.txt").read_text(encoding="utf-8")
    assert text.rstrip().endswith(HOSTILE[1])


def test_missing_energy_is_blank_and_the_reason_is_given(tmp_path):
    study = make_study(tmp_path, models=("rising", "flat"), categories=("math", "coding"), per_category=3,
                       energy=False)
    out = study["out"]
    for row in sheet_rows(out / "model_comparison.xlsx", "comparison"):
        for column in ("energy J", "energy J CI low", "net energy J / completion token", "quality per J (ratio)",
                       "quality per J (ratio) CI high"):
            assert row[column] is None, (column, row[column])  # blank, never 0
        assert row["latency ms"] > 0 and row["quality per s (ratio)"] > 0
    quality = sheet_rows(out / "model_comparison.xlsx", "data_quality")
    assert all(r["energy measured"] == 0 and "no power sensor" in r["why energy is missing"] for r in quality)
    notes = openpyxl.load_workbook(out / "model_comparison.xlsx")["data_quality"]
    assert any("no power sensor" in str(c.value) for row in notes.iter_rows() for c in row if c.value)
    ws = openpyxl.load_workbook(out / "energy_per_run.xlsx")["matrix"]
    values = [c.value for row in ws.iter_rows(min_row=3, min_col=3) for c in row]
    assert values and all(v is None for v in values)
    long = sheet_rows(out / "energy_per_run.xlsx", "long")
    assert all(r["energy J (net of idle)"] is None and "no power sensor" in r["why empty"] for r in long)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "no power sensor" in summary and "Energy was not measured" in summary
    assert "Energy was not measured, so the cost is latency." in summary  # Q4 compares latency instead
    best = sheet_rows(out / "model_comparison.xlsx", "best_levels")
    assert all(r["best level by quality per J (ratio)"] is None and r["best level by quality per s (ratio)"]
               for r in best)
    assert "not measured" in (out / "exported_responses/responses_by_model/flat/Q084_L0.txt").read_text()


def test_one_model_one_category_and_two_levels(tmp_path):
    study = make_study(tmp_path, build=False, models=("solo",), behaviours=("rising",), categories=("stem",),
                       per_category=6, levels=("L0", "L3"))
    rebuild(study)
    out = study["out"]
    rows = sheet_rows(out / "model_comparison.xlsx", "comparison")
    assert [(r["model"], r["level"]) for r in rows] == [("solo", "L0"), ("solo", "L3")]
    tests = sheet_rows(out / "model_comparison.xlsx", "statistics")
    assert [(r["model"], r["level"], r["vs"]) for r in tests] == [("solo", "L3", "L0")]
    friedman = sheet_rows(out / "model_comparison.xlsx", "model_tests")[0]
    assert friedman["Friedman p"] is None  # needs three levels: left empty, not 0
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "Only one model was measured." in summary
    assert sorted(p.stem for p in (out / "plots").glob("*.png")) == sorted(PLOTS)


def test_missing_parse_error_and_empty_scores(tmp_path):
    study = make_study(tmp_path, build=False, models=("rising", "flat"), categories=("math", "coding"),
                       per_category=5)
    scores = [dict(r) for r in study["score_rows"]]
    for row in scores[:6]:  # judge output that could not be parsed: no numbers
        row.update({k: None for k in SCORE_COLUMNS[4:9]}, judge_status="parse_error", reason="")
    del scores[6:10]  # runs never judged
    rebuild(study, score_rows=scores)
    rows = {(r["model"], r["level"]): r for r in sheet_rows(study["out"] / "model_comparison.xlsx", "data_quality")}
    first = rows[("rising", "L0")]
    assert first["judge parse errors"] == 6 and first["no score row"] == 4 and first["scored"] == 0
    comparison = {(r["model"], r["level"]): r for r in sheet_rows(study["out"] / "model_comparison.xlsx", "comparison")}
    assert comparison[("rising", "L0")]["scored runs"] == 0
    assert comparison[("rising", "L0")]["quality (0-10)"] is None
    assert comparison[("rising", "L1")]["scored runs"] == 10
    summary = (study["out"] / "summary.md").read_text(encoding="utf-8")
    assert "rising L1 vs L0: no question was scored at both levels" in summary
    detail = sheet_rows(study["out"] / "quality_scores_detailed.xlsx", "rising")
    assert sorted({r["judge status"] for r in detail}) == ["missing", "ok", "parse_error"]

    study["scores"].write_text(",".join(SCORE_COLUMNS) + "\n", encoding="utf-8")  # judge not run yet
    rebuild(study)
    summary = (study["out"] / "summary.md").read_text(encoding="utf-8")
    assert "no judged scores" in summary
    assert all(r["quality (0-10)"] is None for r in sheet_rows(study["out"] / "model_comparison.xlsx", "comparison"))
    study["scores"].write_text("", encoding="utf-8")  # an empty file reads as no scores too
    rebuild(study, only=["workbooks"])


def test_failed_runs_are_counted_and_left_blank(tmp_path):
    study = make_study(tmp_path, build=False, models=("rising",), categories=("math",), per_category=5)
    runs = [dict(r) for r in study["run_rows"]]
    for row in runs[:2]:
        row.update(status="error", error="prompt longer than n_ctx - max_tokens", output=None, latency_ms=None,
                   completion_tokens=None, energy_j=None)
    scores = [dict(r) for r in study["score_rows"]]
    for row in scores[:2]:
        row.update({k: None for k in SCORE_COLUMNS[4:9]}, judge_status="run_error")
    rebuild(study, run_rows=runs, score_rows=scores)
    out = study["out"]
    quality = sheet_rows(out / "model_comparison.xlsx", "data_quality")[0]
    assert quality["failed runs"] == 2 and quality["failed runs not judged"] == 2
    assert "run failed" in quality["why energy is missing"]
    long = sheet_rows(out / "latency_per_run.xlsx", "long")
    failed = [r for r in long if r["status"] == "error"]
    assert len(failed) == 2 and all(r["latency ms"] is None and "n_ctx" in r["why empty"] for r in failed)
    row = sheet_rows(out / "model_comparison.xlsx", "comparison")[0]
    assert row["runs"] == 5 and row["scored runs"] == 3
    assert row["latency ms"] == pytest.approx(sum(r["latency_ms"] for r in runs[2:5]) / 3)
