"""Exports: all_responses.csv for Excel, one text file per answer, summary_report.txt."""

from __future__ import annotations

import csv

import pytest

from slmbench.report import export_responses
from test_report_helpers import LEVELS, NOTE, make_study

GREEK = "Η απάντηση είναι 42 — ναι. 答案是四十二。"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    study = make_study(tmp, build=False, models=("rising", "flat"), categories=("writing", "math"), per_category=2,
                       output_text=lambda m, lvl, q: f"{GREEK} ({m} {lvl} Q{q})")
    out = tmp / "exported_responses"
    export_responses(study["runs"], study["scores"], out, {"levels": LEVELS, "demo_note": NOTE})
    return study, out


def test_csv_opens_in_excel_with_non_ascii_text(exported):
    study, out = exported
    raw = (out / "all_responses.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM tells Excel the file is UTF-8
    with open(out / "all_responses.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(study["run_rows"])
    assert rows[0]["question_id"] == "81" and rows[0]["model_id"] == "rising" and rows[0]["level"] == "L0"
    assert rows[0]["output"] == f"{GREEK} (rising L0 Q81)"
    record = next(r for r in study["run_rows"] if (r["model_id"], r["level"], r["question_id"]) == ("flat", "L2", 83))
    row = next(r for r in rows if (r["model_id"], r["level"], r["question_id"]) == ("flat", "L2", "83"))
    assert float(row["latency_ms"]) == pytest.approx(record["latency_ms"])
    assert float(row["energy_j"]) == pytest.approx(record["energy_j"]) and row["energy_missing_reason"] == ""
    score = next(s for s in study["score_rows"] if (s["model_id"], s["level"], s["question_id"]) == ("flat", "L2", 83))
    assert float(row["total_score"]) == score["total_score"] and row["judge_status"] == "ok"


def test_one_text_file_per_answer_with_its_header(exported):
    study, out = exported
    files = sorted(p.relative_to(out / "responses_by_model").as_posix() for p in out.rglob("*.txt")
                   if p.parent.name in ("rising", "flat"))
    assert len(files) == len(study["run_rows"])
    assert "rising/Q081_L0.txt" in files and "flat/Q084_P.txt" in files
    text = (out / "responses_by_model/rising/Q082_L3.txt").read_text(encoding="utf-8")
    record = next(r for r in study["run_rows"] if (r["model_id"], r["level"], r["question_id"]) == ("rising", "L3", 82))
    for line in ("Model:          rising (rising.gguf, Q6_K)", "Level:          L3", "Question:       82 (writing)",
                 f"Prompt tokens:  {record['prompt_tokens']}", f"Output tokens:  {record['completion_tokens']}",
                 f"Latency:        {record['latency_ms']:.1f} ms", f"Energy:         {record['energy_j']:.4f} J",
                 "Score:          ", f"Judge note:     {NOTE}", "PROMPT", record["prompt"], "RESPONSE"):
        assert line in text, line
    assert text.rstrip().endswith(f"{GREEK} (rising L3 Q82)")


def test_summary_report_has_per_level_figures(exported):
    study, out = exported
    text = (out / "summary_report.txt").read_text(encoding="utf-8")
    assert f"Total inferences: {len(study['run_rows'])}" in text and "Model: flat" in text
    latencies = [r["latency_ms"] for r in study["run_rows"] if r["model_id"] == "flat" and r["level"] == "P"]
    assert f"Avg latency: {sum(latencies) / len(latencies):.2f} ms" in text


def test_a_rerun_replaces_the_whole_tree_and_leaves_no_temporary_files(exported, tmp_path):
    study, _ = exported
    out = tmp_path / "exported"
    stale = out / "responses_by_model/old-model/Q001_L0.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier study")
    export_responses(study["runs"], None, out)  # no scores yet: every answer says so
    assert not stale.exists()
    assert "no score (judge status: missing)" in (out / "responses_by_model/flat/Q081_L0.txt").read_text()
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
