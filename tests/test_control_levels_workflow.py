"""The length-matched controls as study levels: a demo study with levels [L0, L1, L2, L3, P, P1, P2, P3] runs
through the real Snakemake workflow (tiny model, local judge, 2 categories) and every stage carries all eight
levels: the generated and audited prompts, the runs, the scores, the workbooks and validation.txt.

The matched contrasts themselves (L1 vs P1, L2 vs P2, L3 vs P3) are declared by report/contrasts.py (issue 25);
once they are, this study is where the workbook shows them."""

from __future__ import annotations

import csv
import json

import openpyxl
import pytest

from pipeline_helpers import make_workdir, snakemake
from slmbench import levels as design

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # 32 real jobs: minutes on a shared machine

LEVELS = ["L0", "L1", "L2", "L3", "P", "P1", "P2", "P3"]
CATEGORIES = ["math", "coding"]


@pytest.fixture(scope="module")
def control_study(tmp_path_factory, tiny_model):
    # the cheapest study that still measures and judges every level: short answers, no timing repeats, no idle
    # re-measurement before each shard (16 shards and 16 judge jobs on 2 cores)
    work = make_workdir(tmp_path_factory.mktemp("controls"), tiny_model.parent, categories=CATEGORIES,
                        levels=LEVELS, **{"inference.max_tokens": 8, "inference.timing_repeats": 0,
                                          "power.idle_per_shard_s": 0, "power.idle_seconds": 1,
                                          "judge.max_tokens": 96})
    proc = snakemake(work, "--cores", "2")
    return work / "results/demo", proc.stdout + proc.stderr


def test_every_stage_carries_the_eight_levels(control_study):
    results, _ = control_study
    runs = [json.loads(line) for line in (results / "runs_llamacpp.jsonl").read_text().splitlines()]
    assert {r["level"] for r in runs} == set(LEVELS)
    # one scored run per question and level (2 questions: the demo has one per category)
    scored = [r for r in runs if r.get("repeat", 0) == 0 and r.get("shard_repeat", 0) == 0]
    assert sorted((r["question_id"], r["level"]) for r in scored) == sorted(
        (q, lvl) for q in (4, 5) for lvl in LEVELS)
    assert all(r["status"] == "ok" for r in scored)
    with open(results / "scores_absolute.csv", encoding="utf-8", newline="") as fh:
        scores = list(csv.DictReader(fh))
    assert {s["level"] for s in scores} == set(LEVELS)
    for level in LEVELS:
        for category in CATEGORIES:
            assert (results / "shards/gemma3-270m" / level / f"{category}.jsonl").exists(), (level, category)
            assert (results / "scores/gemma3-270m" / level / f"{category}.csv").exists(), (level, category)


def test_the_controls_are_l0_plus_padding_as_long_as_what_their_level_adds(control_study):
    results, _ = control_study
    with open(results / "prompts/prompt_audit.csv", encoding="utf-8", newline="") as fh:
        audit = list(csv.DictReader(fh))
    assert {r["level"] for r in audit} == set(LEVELS) and {r["status"] for r in audit} == {"ok"}
    runs = [json.loads(line) for line in (results / "runs_llamacpp.jsonl").read_text().splitlines()]
    for qid in (4, 5):
        prompts = {r["level"]: r["prompt"] for r in runs if r["question_id"] == qid}
        for control in design.CONTROL_LEVELS:
            assert prompts[control].startswith(prompts["L0"] + "\n\n")
            assert prompts[design.level(control).matches] not in prompts[control]  # padding, not the level's text
    with open(results / "prompts/token_report.csv", encoding="utf-8", newline="") as fh:
        assert not [r for r in csv.DictReader(fh) if r["problem"]]


def test_the_reports_show_every_level(control_study):
    results, log = control_study
    book = openpyxl.load_workbook(results / "model_comparison.xlsx", read_only=True)
    cells = {str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row}
    assert set(LEVELS) <= cells, set(LEVELS) - cells
    validation = (results / "validation.txt").read_text()
    for level in LEVELS:
        assert level in validation
    assert "Traceback" not in log
