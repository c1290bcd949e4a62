"""The doctor checks the inputs the study stops on first (the prompt spreadsheet, the question file) with the
run's own readers; the shipped example spreadsheet is a valid sheet; a missing sheet names the alternatives."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from slmbench.config import missing_input_problem
from slmbench.doctor import run_checks
from slmbench.input_checks import check_inputs
from slmbench.prompt_rows import read_prompt_rows
from slmbench.prompts.convert import convert_spreadsheet

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "generated_prompts.example.xlsx"


@pytest.fixture
def study(tmp_path, monkeypatch):
    """The study config (a spreadsheet, MT-Bench's URL) over the demo's questions, in a working directory."""
    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "config" / "demo_questions.jsonl", tmp_path / "data" / "questions.jsonl")
    config["questions"]["file"] = "data/questions.jsonl"
    config["categories"] = ["writing", "reasoning", "math"]
    return config


def lines(config) -> dict:
    return {c.name: c for c in check_inputs(config)}


def test_a_missing_spreadsheet_fails_naming_the_alternatives(study):
    check = lines(study)["prompt spreadsheet"]
    assert check.status == "fail"
    assert "data/generated_prompts.xlsx (prompts.spreadsheet) is missing" in check.detail
    assert "prompts.source: generate" in check.detail and "data/generated_prompts.example.xlsx" in check.detail
    assert "prompts.source: generate" in missing_input_problem(study)  # the parse's line says the same
    assert "data/generated_prompts.example.xlsx" in missing_input_problem(study)


def test_the_example_spreadsheet_passes_and_is_counted(study, tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "data" / "generated_prompts.xlsx")
    checks = lines(study)
    assert checks["prompt spreadsheet"].status == "ok", checks["prompt spreadsheet"].detail
    assert checks["prompt spreadsheet"].detail.endswith("3 questions x 5 levels (15 prompts)")
    assert checks["questions"].status == "ok" and "8 questions, 3 of them" in checks["questions"].detail


def test_the_example_spreadsheet_converts_to_cumulative_levels_of_three_questions(tmp_path):
    written = convert_spreadsheet(EXAMPLE, tmp_path, questions_file=REPO / "config" / "demo_questions.jsonl",
                                  categories=["writing", "reasoning", "math"])
    rows = [r for path in written for r in read_prompt_rows(path)]
    assert sorted({r.question_id for r in rows}) == [1, 3, 4] and len(rows) == 15
    by_question = {}
    for r in rows:
        by_question.setdefault(r.question_id, {})[r.level] = r.prompt
    for levels in by_question.values():  # each level builds on the one before it
        chain = [levels[name] for name in ("L0", "L1", "L2", "L3", "P")]
        assert all(later.startswith(earlier) and len(later) > len(earlier) for earlier, later in zip(chain, chain[1:]))


def test_a_broken_spreadsheet_fails_with_the_reader_s_line(study, tmp_path):
    book = openpyxl.load_workbook(EXAMPLE)
    sheet = book["prompts"]
    sheet.delete_cols(5)  # the L2 column
    book.save(tmp_path / "data" / "generated_prompts.xlsx")
    check = lines(study)["prompt spreadsheet"]
    assert check.status == "fail" and "L2" in check.detail and "\n" not in check.detail


def test_the_question_file_not_yet_downloaded_is_info_missing_without_url_fails_broken_names_the_line(study, tmp_path):
    study["prompts"]["source"] = "generate"
    (tmp_path / "data" / "questions.jsonl").unlink()
    check = lines(study)["questions"]
    assert check.status == "info" and "downloads it from questions.url" in check.detail
    study["questions"]["url"] = None
    assert lines(study)["questions"].status == "fail"
    (tmp_path / "data" / "questions.jsonl").write_text('{"question_id": 1, "category": "writing", "turns": ["Q"]}\n'
                                                       "not json\n", encoding="utf-8")
    check = lines(study)["questions"]
    assert check.status == "fail" and "data/questions.jsonl line 2" in check.detail


def test_generate_needs_no_spreadsheet_but_questions_in_every_category(study, tmp_path):
    study["prompts"]["source"] = "generate"
    study["categories"] = ["writing", "astronomy"]
    checks = lines(study)
    assert checks["prompt spreadsheet"].status == "info"
    assert checks["questions"].status == "fail" and "astronomy" in checks["questions"].detail


def test_the_doctor_runs_the_input_checks_first(study):
    names = [c.name for c in run_checks(study)][:2]
    assert names == ["prompt spreadsheet", "questions"]
