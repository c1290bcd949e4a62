"""validation.txt: the study's integrity checks, and --strict failing the run on a violation."""

from __future__ import annotations

import csv

import pytest

from slmbench.errors import UserError
from slmbench.records import write_jsonl
from slmbench.report import validate_results
from slmbench.scores import write_score_rows
from test_report_helpers import LEVELS, cli, make_study

CATEGORIES = ["writing", "math"]


@pytest.fixture
def study(tmp_path):
    study = make_study(tmp_path, build=False, models=("rising", "flat"), categories=CATEGORIES, per_category=3)
    prompts = []
    for i, category in enumerate(CATEGORIES):
        path = tmp_path / f"{category}_prompts_hierarchical.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["question_id", "category", "level", "prompt"])
            for q in range(81 + 3 * i, 84 + 3 * i):
                for level in LEVELS:
                    writer.writerow([q, category, level, "text"])
        prompts.append(path)
    study["expected"] = {"models": ["rising", "flat"], "levels": LEVELS, "categories": CATEGORIES,
                         "question_ids": None, "prompt_csvs": prompts}
    study["out_txt"] = tmp_path / "validation.txt"
    return study


def check(study):
    validate_results(study["runs"], study["scores"], study["expected"], study["out_txt"])
    return study["out_txt"].read_text(encoding="utf-8")


def test_a_complete_study_passes_every_check(study):
    text = check(study)
    # the synthetic "flat" model scores below the seed's plausible mean of 5: the only warning
    assert "RESULT: PASS (0 failed, 1 warnings" in text and "WARN  mean score plausible (5-9)" in text
    assert "PASS  usable runs per (model, level): all 6 expected runs usable in every cell" in text
    assert "PASS  runs of model rising: 30 (expected 6 questions x 5 levels = 30)" in text
    assert "PASS  runs at level L3: 12 (expected 6 questions x 2 models = 12)" in text
    assert '      30 "model_id":"rising"' in text and '      12 "level":"P"' in text
    assert "6 questions (from prompt CSVs)" in text
    assert "PASS  mean prompt tokens grow with level (all models): L0" in text


def test_missing_duplicate_and_unexpected_runs_fail(study):
    rows = study["run_rows"]
    extra = {**rows[0], "question_id": 999}
    write_jsonl(study["runs"], rows[1:] + [rows[5], extra])
    text = check(study)
    assert "FAIL  runs of model rising: 31 (expected" in text  # 29 + a duplicate + an extra
    assert "FAIL  every expected (model, level, question) present: 1 missing: ('rising', 'L0', 81)" in text
    assert "FAIL  no duplicate (model, level, question): 1 duplicated: (rising, L0, 86)" in text
    assert "FAIL  no unexpected (model, level, question): 1 not in the design: ('rising', 'L0', 999)" in text
    assert "RESULT: FAIL" in text


def test_scores_out_of_range_wrong_totals_and_unscored_runs_fail(study):
    scores = [dict(r) for r in study["score_rows"]]
    scores[0]["factuality"] = 3.0
    scores[0]["total_score"] = sum(scores[0][k] for k in ("factuality", "helpfulness", "structure", "conciseness"))
    scores[1]["total_score"] = 11.0
    scores[2].update(judge_status="parse_error", factuality=None, helpfulness=None, structure=None,
                     conciseness=None, total_score=None)
    write_score_rows(scores[:-1], study["scores"])
    text = check(study)
    assert "FAIL  score range 0-10 (dimensions 0-2.5): 2 rows out of range, rows 2, 3" in text
    assert "FAIL  total_score = sum of the four dimensions: 1 rows where it is not (never averaged), rows 3" in text
    assert "FAIL  every run has a score row: 1 without: ('flat', 'P', 86)" in text
    assert "WARN  judge parse failures: 1 (counted, never averaged): rows 4" in text


def test_prompt_tokens_that_do_not_grow_fail_and_errors_are_counted(study):
    rows = [dict(r) for r in study["run_rows"]]
    for row in rows:
        if row["level"] == "P":
            row["prompt_tokens"] = 5
    rows[0].update(status="error", error="prompt too long")
    write_jsonl(study["runs"], rows)
    text = check(study)
    assert "FAIL  mean prompt tokens grow with level (all models):" in text and "P 5.0" in text
    assert "WARN  failed runs (status error): 1: rising L0 Q81: prompt too long" in text


def test_strict_fails_after_writing_the_report(study, capsys):
    write_jsonl(study["runs"], study["run_rows"][1:])
    with pytest.raises(UserError, match=r"validation failed \(3 checks\), first: runs of model rising: 29"):
        validate_results(study["runs"], study["scores"], study["expected"], study["out_txt"], strict=True)
    assert "RESULT: FAIL" in study["out_txt"].read_text()
    rc = cli(["report", "validate", "--runs", str(study["runs"]), "--scores", str(study["scores"]),
              "--out", str(study["out_txt"]), "--levels", *LEVELS,
              "--prompts", *map(str, study["expected"]["prompt_csvs"]), "--strict"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("slmbench: error: validation failed") and "rising" in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_without_expectations_the_design_comes_from_the_runs(study, capsys):
    rc = cli(["report", "validate", "--runs", str(study["runs"]), "--scores", str(study["scores"]),
              "--out", str(study["out_txt"])])
    assert rc == 0 and "0 failed checks" in capsys.readouterr().out
    assert "(from the runs themselves)" in study["out_txt"].read_text()


def test_a_prompt_csv_without_question_ids_is_named(study, tmp_path):
    bad = tmp_path / "bad_prompts_hierarchical.csv"
    bad.write_text("id,category,level,prompt\n1,x,L0,p\n")
    study["expected"]["prompt_csvs"] = [bad]
    with pytest.raises(UserError, match=r"bad_prompts_hierarchical.csv row 1: missing column\(s\) question_id"):
        check(study)


def test_repeated_verdicts_become_one_score_per_run(tmp_path):
    """judge.repeats > 1: the report averages a run's ok verdicts instead of calling them duplicates."""
    import csv as _csv

    from slmbench.report.data import read_scores

    path = tmp_path / "scores.csv"
    header = ["question_id", "category", "model_id", "level", "factuality", "helpfulness", "structure",
              "conciseness", "total_score", "reason", "judge_model", "judge_status", "judge_name", "repeat"]
    rows = [[1, "math", "m", "L0", 2, 2, 2, 2, 8, "a", "j", "ok", "j", 0],
            [1, "math", "m", "L0", 1, 1, 1, 1, 4, "b", "j", "ok", "j", 1],
            [2, "math", "m", "L0", "", "", "", "", "", "x", "j", "parse_error", "j", 0],
            [2, "math", "m", "L0", 1, 1, 1, 1, 4, "c", "j", "ok", "j", 1],
            [3, "math", "m", "L0", "", "", "", "", "", "x", "j", "parse_error", "j", 0],
            [3, "math", "m", "L0", "", "", "", "", "", "y", "j", "parse_error", "j", 1]]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = _csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    scores = read_scores(path).set_index("question_id")
    assert scores.loc[1, "total_score"] == 6.0 and scores.loc[1, "judge_status"] == "ok"
    assert scores.loc[2, "total_score"] == 4.0 and scores.loc[2, "judge_status"] == "ok"
    assert scores.loc[3, "judge_status"] == "parse_error"
    assert scores.loc[3, "total_score"] != scores.loc[3, "total_score"]  # NaN


def test_all_runs_failed_is_a_failure(study):
    rows = [dict(r, status="error", error="model crashed", output=None, latency_ms=None, completion_tokens=None,
                 energy_j=None) for r in study["run_rows"]]
    write_jsonl(study["runs"], rows)
    scores = [dict(s, judge_status="run_error", factuality=None, helpfulness=None, structure=None,
                   conciseness=None, total_score=None) for s in study["score_rows"]]
    write_score_rows(scores, study["scores"])
    text = check(study)
    assert "FAIL  usable runs per (model, level): 10 (model, level) where most runs failed" in text
    assert "rising L0: 0 usable of 6 expected (6 failed)" in text
    assert "RESULT: FAIL" in text


def test_most_runs_failed_in_one_cell_fails_and_a_few_warn(study):
    rows = [dict(r) for r in study["run_rows"]]
    cell = [r for r in rows if (r["model_id"], r["level"]) == ("flat", "L2")]
    for r in cell[:4]:
        r.update(status="error", error="timeout")
    write_jsonl(study["runs"], rows)
    text = check(study)
    assert "FAIL  usable runs per (model, level): 1 (model, level) where most runs failed or have no usable " \
           "score: flat L2: 2 usable of 6 expected (4 failed)" in text
    for r in cell[:4]:
        r.update(status="ok", error=None)
    cell[0].update(status="error", error="timeout")
    write_jsonl(study["runs"], rows)
    text = check(study)
    assert "WARN  usable runs per (model, level): 1 (model, level) with fewer usable runs than expected: " \
           "flat L2: 5 usable of 6 expected (1 failed)" in text


def test_mean_score_outside_the_seeds_plausible_range_warns(study):
    scores = [dict(s, factuality=0.5, helpfulness=0.5, structure=0.5, conciseness=0.5, total_score=2.0)
              if s["model_id"] == "flat" else s for s in study["score_rows"]]
    write_score_rows(scores, study["scores"])
    text = check(study)
    assert "WARN  mean score plausible (5-9): overall" in text and "flat 2.00" in text
    assert "RESULT: PASS" in text  # a warning, not a failure


def test_a_disagreeing_total_fails_and_says_it_is_never_averaged(study):
    scores = [dict(s) for s in study["score_rows"]]
    scores[3]["total_score"] = scores[3]["total_score"] + 1
    write_score_rows(scores, study["scores"])
    text = check(study)
    assert "FAIL  total_score = sum of the four dimensions: 1 rows where it is not (never averaged), rows 5" in text


@pytest.mark.slow  # about 10 s (a whole report or judge run); CI runs it, the fast lane leaves it out
def test_seed_shaped_scores_without_judge_status_are_read_and_reported(study, tmp_path):
    """The seed's scores_absolute.csv has no judge_status: a row with a total is a verdict."""
    from slmbench.report.build import build_reports

    seed_columns = ["question_id", "model_id", "level", "factuality", "helpfulness", "structure", "conciseness",
                    "total_score", "reason"]
    rows = [dict(s) for s in study["score_rows"]]
    rows[0].update(factuality=None, helpfulness=None, structure=None, conciseness=None, total_score=None)
    with open(study["scores"], "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=seed_columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    text = check(study)
    assert "WARN  judge parse failures: 1" in text and "FAIL  every run has a score row" not in text
    out = tmp_path / "reports"
    build_reports(study["runs"], study["scores"], out, {"levels": LEVELS}, only=["workbooks", "summary"])
    from test_report_helpers import sheet_rows

    comparison = {(r["model"], r["level"]): r for r in sheet_rows(out / "model_comparison.xlsx", "comparison")}
    assert comparison[("rising", "L0")]["scored runs"] == 5 and comparison[("flat", "L3")]["scored runs"] == 6
    assert "## Q4." in (out / "summary.md").read_text(encoding="utf-8")


def test_the_token_check_is_the_level_rule_p_above_l3_and_controls_above_l0(study):
    """slmbench.levels' rule: P must outgrow L3 (not only L0); a length-matched control only L0."""
    rows = [dict(r) for r in study["run_rows"]]
    means = {r["level"]: r["prompt_tokens"] for r in rows}
    for row in rows:
        if row["level"] == "P":
            row["prompt_tokens"] = (means["L0"] + means["L3"]) // 2  # longer than L0, shorter than L3
    write_jsonl(study["runs"], rows)
    text = check(study)
    assert "FAIL  mean prompt tokens grow with level (all models):" in text and "not longer than L3" in text
    assert "per step L1 +" in text and "(band +50..150)" in text

    controls = [{**r, "level": "P1"} for r in study["run_rows"] if r["level"] == "L3"]
    for row in controls:
        row["prompt_tokens"] = means["L0"] + 1  # shorter than L1..P: fine for a control
    write_jsonl(study["runs"], study["run_rows"] + controls)
    study["expected"]["levels"] = [*LEVELS, "P1"]
    text = check(study)
    assert "PASS  mean prompt tokens grow with level (all models):" in text and "controls P1" in text
