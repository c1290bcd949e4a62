"""Timing repeats compared with their scored runs: a greedy answer that does not repeat itself is listed."""

from __future__ import annotations

from planted_study import write_planted_study

from slmbench.records import write_jsonl
from slmbench.report.validate import validate_results


def test_validation_lists_the_runs_whose_greedy_answer_did_not_repeat(tmp_path):
    runs_path, scores_path, runs, _ = write_planted_study(tmp_path)
    same = [{**r, "repeat": 1} for r in runs[:3]]
    changed = {**runs[3], "repeat": 1, "output": runs[3]["output"] + " and more", "completion_tokens": 7}
    write_jsonl(tmp_path / "timing_repeats.jsonl", same + [changed])
    validate_results(runs_path, scores_path, None, tmp_path / "validation.txt")
    line = next(x for x in (tmp_path / "validation.txt").read_text().splitlines() if "greedy answers repeat" in x)
    row = runs[3]
    assert line.startswith("WARN") and "1 of 4 timing repeats differ" in line, line
    assert f"{row['model_id']} {row['level']} Q{row['question_id']} (completion_tokens " in line
    assert f"vs 7; text differs from character {len(row['output'])})" in line

    write_jsonl(tmp_path / "timing_repeats.jsonl", same)
    validate_results(runs_path, scores_path, None, tmp_path / "validation.txt")
    assert "PASS  greedy answers repeat: all 3 timing repeats" in (tmp_path / "validation.txt").read_text()
