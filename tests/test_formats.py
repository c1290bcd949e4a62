"""The stage formats (run records, score rows, prompt rows): each read by one checked reader that names the
file, line or row, and field of bad input, and written by one writer that the reader reads back unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from slmbench.errors import UserError
from slmbench.prompt_rows import PROMPT_COLUMNS, PromptRow, read_prompt_rows, write_prompt_rows
from slmbench.records import RunRecord, read_run_records, write_jsonl
from slmbench.scores import SCORE_COLUMNS, ScoreRow, merge_score_files, read_score_rows, write_score_rows

REPO = Path(__file__).resolve().parents[1]


def run_record(**changes) -> dict:
    record = RunRecord(model_id="m", model_file="m.gguf", model_sha256=None, quant="Q4_K_M", level="L0",
                       question_id=1, category="math", prompt="2+2?", output="4", latency_ms=12.5, prompt_tokens=9)
    return {**asdict(record), **changes}


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=120)


# --- run records ---

def test_run_records_read_back_as_written(tmp_path):
    rows = [run_record(question_id=q) for q in (1, 2)]
    write_jsonl(tmp_path / "shard.jsonl", rows)
    assert [asdict(r) for r in read_run_records(tmp_path / "shard.jsonl")] == rows


def test_a_field_a_record_lacks_reads_as_null(tmp_path):
    minimal = {"model_id": "m", "level": "L0", "question_id": 1, "category": "math", "status": "error"}
    (tmp_path / "r.jsonl").write_text(json.dumps(minimal) + "\n")
    record = read_run_records(tmp_path / "r.jsonl")[0]
    assert record.status == "error" and record.energy_j is None and record.prompt is None


BAD_RECORDS = {
    "malformed JSON": ('{"model_id": "m", "lev', ["r.jsonl:2:", "not valid JSON"]),
    "unknown field": (json.dumps(run_record(energy_kj=1.0)), ["r.jsonl:2:", "unknown field(s) energy_kj"]),
    "missing status": (json.dumps({k: v for k, v in run_record().items() if k != "status"}),
                       ["r.jsonl:2:", "field status is missing"]),
    "text in a number": (json.dumps(run_record(latency_ms="fast")), ["r.jsonl:2:", "field latency_ms is 'fast'",
                                                                      "not a number or null"]),
    "text question id": (json.dumps(run_record(question_id="2")), ["r.jsonl:2:", "field question_id is '2'",
                                                                     "not an integer"]),
    "boolean count": (json.dumps(run_record(prompt_tokens=True)), ["r.jsonl:2:", "field prompt_tokens is True"]),
    "not an object": ("[1, 2]", ["r.jsonl:2:", "must be a JSON object"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_a_bad_run_record_is_named_by_file_line_and_field(tmp_path, case):
    line, expected = BAD_RECORDS[case]
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(run_record()) + "\n" + line + "\n")
    with pytest.raises(UserError) as err:
        read_run_records(path)
    message = str(err.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_merge_refuses_a_bad_shard_in_one_line_and_writes_nothing(tmp_path):
    good, bad = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(good, [run_record()])
    write_jsonl(bad, [run_record(question_id=2), {k: v for k, v in run_record(question_id=3).items() if k != "status"}])
    proc = cli("merge", "--out", tmp_path / "runs.jsonl", good, bad)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "b.jsonl:2: field status is missing" in proc.stderr
    assert not (tmp_path / "runs.jsonl").exists()


# --- score rows ---

def score(qid=1, status="ok", **changes) -> dict:
    numbers = {"factuality": 2.0, "helpfulness": 1.5, "structure": 2.5, "conciseness": 1.0, "total_score": 7.0}
    row = {"question_id": qid, "category": "math", "model_id": "m", "level": "L0", "judge_status": status,
           "judge_name": "j", "repeat": 0, "reason": "fine", "judge_prompt_tokens": 120,
           **(numbers if status == "ok" else {})}
    return {**row, **changes}


def test_the_score_columns_stay_as_the_study_names_them():
    assert SCORE_COLUMNS == [
        "question_id", "category", "model_id", "level", "factuality", "helpfulness", "structure", "conciseness",
        "total_score", "reason", "judge_model", "judge_status", "judge_name", "repeat", "rubric_version",
        "judge_endpoint", "judged_at", "judge_prompt_tokens", "judge_completion_tokens", "cache_key",
        "reference_match", "reference_source", "reference_sha256",  # added at the end (issue 16), optional
        "variant",  # issue 17: prompt variants; a file without it is variant 0
        "power_mode_id"]  # issue 30: the run's power mode; a file without it has none


def test_score_rows_read_back_as_written(tmp_path):
    path = write_score_rows([score(1), ScoreRow(**score(2, "parse_error", reason="garbage"))], tmp_path / "s.csv")
    first, second = read_score_rows(path)
    assert first.total_score == 7.0 and first.repeat == 0 and first.judge_prompt_tokens == 120
    assert second.judge_status == "parse_error" and second.total_score is None and second.reason == "garbage"
    again = write_score_rows([first, second], tmp_path / "again.csv")
    assert again.read_bytes() == path.read_bytes()


def test_a_number_beside_a_failed_verdict_is_not_a_score(tmp_path):
    path = write_score_rows([score(1, "run_error", total_score=5.0)], tmp_path / "s.csv")
    assert read_score_rows(path)[0].total_score is None


def test_merged_scores_are_sorted_and_checked(tmp_path):
    a = write_score_rows([score(10, model_id="m2"), score(9, model_id="m2")], tmp_path / "a.csv")
    b = write_score_rows([score(2, level="L1", repeat=1), score(2, level="L1")], tmp_path / "b.csv")
    out = merge_score_files([a, b], tmp_path / "all.csv")
    assert [(r.model_id, r.level, r.question_id, r.repeat) for r in read_score_rows(out)] == [
        ("m", "L1", 2, 0), ("m", "L1", 2, 1), ("m2", "L0", 9, 0), ("m2", "L0", 10, 0)]
    b.write_text(b.read_text().replace(",ok,", ",okay,", 1))
    with pytest.raises(UserError, match=r"b.csv row 2, column judge_status: 'okay' is not one of"):
        merge_score_files([a, b], tmp_path / "again.csv")
    assert not (tmp_path / "again.csv").exists()


def _scores_file(tmp_path, edit) -> Path:
    path = write_score_rows([score(1), score(2), score(3)], tmp_path / "s.csv")
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


BAD_SCORES = {
    "missing column": (lambda t: t.replace("total_score", "total", 1),
                       ["s.csv row 1", "missing column(s) total_score"]),
    "unknown column": (lambda t: t.replace("cache_key", "cache", 1), ["s.csv row 1", "unknown column(s) cache"]),
    "text in a score": (lambda t: t.replace(",1.5,", ",good,", 2).replace(",good,", ",1.5,", 1),
                        ["s.csv row 3, column helpfulness: 'good' is not a number"]),
    "question id": (lambda t: t.replace("\n3,", "\nthree,"), ["s.csv row 4, column question_id: 'three'"]),
    "unknown status": (lambda t: t.replace(",ok,", ",fine,"), ["s.csv row 2, column judge_status: 'fine'"]),
    "ragged row": (lambda t: t.replace("\n2,", "\n2,extra,"), ["s.csv: not a readable CSV", "line 3"]),
}


@pytest.mark.parametrize("case", sorted(BAD_SCORES))
def test_a_bad_score_row_is_named_by_file_row_and_column(tmp_path, case):
    edit, expected = BAD_SCORES[case]
    with pytest.raises(UserError) as err:
        read_score_rows(_scores_file(tmp_path, edit))
    message = str(err.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_a_scores_csv_saved_by_a_spreadsheet_program_is_read(tmp_path):
    path = write_score_rows([score(1)], tmp_path / "s.csv")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read_score_rows(path)[0].question_id == 1


# --- prompt rows ---

ROWS = [PromptRow(1, "math", "L0", "What is 2+2?"), PromptRow(1, "math", "L1", "Context:\nline two, with a comma"),
        PromptRow(2, "math", "L0", 'Say "hi".')]


def test_prompt_rows_read_back_as_written(tmp_path):
    path = write_prompt_rows(ROWS, tmp_path / "math_prompts_hierarchical.csv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(PROMPT_COLUMNS)
    assert read_prompt_rows(path) == ROWS


def _bom_csv(tmp_path) -> Path:
    """The prompt CSV as Excel saves it: a byte-order mark first, CRLF line ends."""
    path = write_prompt_rows(ROWS, tmp_path / "math_prompts_hierarchical.csv")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    return path


def test_a_bom_prompt_csv_is_read_by_inference_and_the_judge(tmp_path):
    from slmbench.inference import read_prompts
    from slmbench.judge.runner import canonical_questions

    path = _bom_csv(tmp_path)
    assert [r.question_id for r in read_prompts(path, "L0", "math")] == [1, 2]
    assert read_prompts(path, "L1", "math")[0].prompt == "Context:\r\nline two, with a comma"
    assert canonical_questions(path) == {1: "What is 2+2?", 2: 'Say "hi".'}


def test_a_bom_prompt_csv_is_read_by_the_token_report_and_the_validation(tmp_path):
    from slmbench.prompts.tokens import read_prompt_csvs
    from slmbench.report.validate import question_ids_from_prompt_csvs

    path = _bom_csv(tmp_path)
    assert [r["question_id"] for r in read_prompt_csvs([path])] == [1, 1, 2]
    assert question_ids_from_prompt_csvs([path]) == [1, 2]


BAD_PROMPTS = {
    "missing column": ("question_id,category,prompt\n1,math,x\n", ["p.csv row 1", "missing column(s) level"]),
    "question id": ("question_id,category,level,prompt\n1,math,L0,x\nQ2,math,L0,y\n",
                    ["p.csv row 3, column question_id: 'Q2' is not an integer"]),
    "row after a multi-line prompt": ('question_id,category,level,prompt\n1,math,L0,"a\nb"\n2,math,,y\n',
                                      ["p.csv row 3 (line 4), column level: empty"]),
    "ragged row": ("question_id,category,level,prompt\n1,math,L0,x,extra\n", ["p.csv row 2", "5 cells", "has 4"]),
    "not UTF-8": (b"question_id,category,level,prompt\n1,math,L0,caf\xe9\n", ["p.csv: not a readable CSV"]),
}


@pytest.mark.parametrize("case", sorted(BAD_PROMPTS))
def test_a_bad_prompt_row_is_named_by_file_row_and_column(tmp_path, case):
    text, expected = BAD_PROMPTS[case]
    path = tmp_path / "p.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_prompt_rows(path)
    message = str(err.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_a_bad_prompt_csv_stops_the_judge_before_it_asks(tmp_path):
    from slmbench.judge.runner import canonical_questions

    path = tmp_path / "p.csv"
    path.write_text("question_id,category,level,prompt\nx,math,L0,y\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"p.csv row 2, column question_id: 'x'"):
        canonical_questions(path)


def test_the_judge_reads_a_shard_through_the_checked_reader(tmp_path):
    from slmbench.judge.runner import judge_shard

    shard = tmp_path / "shard.jsonl"
    write_jsonl(shard, [run_record(), run_record(question_id=2, completion_tokens="many")])
    prompts = write_prompt_rows(ROWS, tmp_path / "p.csv")
    with pytest.raises(UserError, match=r"shard.jsonl:2: field completion_tokens is 'many'"):
        judge_shard(shard, prompts, None, tmp_path / "scores.csv", {"name": "j"})
    assert not (tmp_path / "scores.csv").exists()
