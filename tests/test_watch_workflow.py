"""Watching a real (reduced) demo run: live lines in the shard logs and on the console, the plan printed at the
start and the validation line at the end, `slmbench status`, a shard deleted by hand or by `slmbench redo` planned
again, the prompt review, every figure as PNG and PDF, and the workflow's viewer loaded in headless chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from demo_study import CATEGORIES, LEVELS
from pipeline_helpers import REPO, planned_jobs
from slmbench.records import read_jsonl
from test_viewer import load_in_chromium

pytestmark = pytest.mark.slow


def slmbench(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *args], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(demo_study):
    """The session's demo study (tests/demo_study.py), run with the default profile's quiet console."""
    return demo_study.work, demo_study.config, demo_study.layout, demo_study.console


def shard_records(work: Path, config: dict, lay) -> int:
    """Every record of every shard: the scored runs and their timing repeats, each measured once."""
    model = config["models"][0]["id"]
    return sum(len(list(read_jsonl(work / lay.shard(model, level, category))))
               for level in LEVELS for category in CATEGORIES)


def test_each_shard_log_has_one_live_line_per_run(demo):
    work, config, lay, _ = demo
    model = config["models"][0]["id"]
    for level in LEVELS:
        for category in CATEGORIES:
            runs = list(read_jsonl(work / lay.shard(model, level, category)))
            log = (work / lay.log(f"inference/{model}/{level}/{category}")).read_text(encoding="utf-8")
            lines = re.findall(rf"^\[{level}\] Q\d+ {category}  Latency: \d+\.\dms \| Tokens: \d+→\d+ \| "
                               r"Energy: (?:n/a|\d+\.\d{3}J)$", log, re.M)
            assert len(lines) == len(runs) >= 1, log
            assert re.search(rf"^model {model} loaded in \d+\.\d s", log, re.M) and "idle power:" in log


def test_the_console_shows_the_live_lines_the_plan_and_the_result(demo):
    work, config, lay, console = demo
    answers = re.findall(r"^\[(?:L0|L1|L2|L3|P)\] Q\d+ \w+  Latency: \d+\.\dms \| Tokens: \d+→\d+", console, re.M)
    # one per measurement: a run of each shard's question, and the demo's timing repeats
    assert len(answers) == shard_records(work, config, lay) >= len(CATEGORIES) * len(LEVELS), console[-3000:]
    assert re.search(r"^model \S+ loaded in", console, re.M) and re.search(r"^idle power:", console, re.M)
    assert re.search(r"^inference shards: 0/10 done$", console, re.M), console[:3000]  # the start: the plan
    assert re.search(r"^plan: \d+ answers in 10 shards, about \d+ min of inference", console, re.M)
    assert re.search(r"^slmbench: validation (PASS|FAIL|WARN).*open .*index\.html", console, re.M), console[-2000:]
    assert "rule infer_shard:" not in console  # the default profile's quiet: [rules, host]


def test_the_workflow_writes_the_review_every_figure_and_the_tidy_table(demo):
    import openpyxl

    from slmbench.layout import PLOT_FORMATS, PLOTS

    work, config, lay, _ = demo
    sheet = openpyxl.load_workbook(work / lay.prompt_review).worksheets[0]
    qids = {r["question_id"] for r in read_jsonl(work / lay.runs)}
    assert sheet.max_row - 1 == len(qids)  # a header, then one row per question
    assert (work / lay.prompt_audit).read_text(encoding="utf-8").strip()
    for name in PLOTS:
        for ext in PLOT_FORMATS:
            assert (work / lay.plot(name, ext)).stat().st_size > 0, (name, ext)
    assert (work / lay.summary_by_level).read_text(encoding="utf-8").startswith("model,level,metric")


def test_the_viewer_of_the_real_run_loads_and_lists_every_question(demo_copy):  # chromium's profile: beside it
    work, lay = demo_copy.work, demo_copy.layout
    page = work / lay.index_html  # written by the workflow's viewer rule
    assert page.exists()
    dom, console = load_in_chromium(page)
    assert console == []
    qids = {r["question_id"] for r in read_jsonl(work / lay.runs)}
    assert {int(q) for q in re.findall(r'<tbody class="question" data-qid="(\d+)"', dom)} == qids
    assert 'href="model_comparison.xlsx"' in dom and "RESULT:" in dom


def test_a_shard_deleted_by_hand_is_planned_again(demo_copy):
    shard = demo_copy.work / demo_copy.layout.shard(demo_copy.model, "L1", "coding")
    aside = shard.with_name("aside.jsonl")
    shard.rename(aside)  # only the shard: its score, the merged runs and the reports are all still there
    jobs = planned_jobs(demo_copy.snakemake("-n", "--cores", "1").stdout)
    assert jobs["infer_shard"] == 1 and jobs["judge_shard"] == 1 and jobs["merge_runs"] == 1, jobs
    assert jobs["reports"] == 1 and jobs["viewer"] == 1, jobs
    aside.rename(shard)
    assert "Nothing to be done" in demo_copy.snakemake("-n", "--cores", "1").stdout  # restored: all up to date


def test_status_after_the_run_then_redo_plans_the_shard_again(demo_copy):
    work, config, lay = demo_copy.work, demo_copy.config, demo_copy.layout
    proc = slmbench(work, "status", "--configfile", "config/test.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "inference shards: 10/10 done" in proc.stdout and "judged: 10/10 shards" in proc.stdout
    assert "validation: RESULT:" in proc.stdout
    model = config["models"][0]["id"]
    proc = slmbench(work, "redo", "--shard", f"{model}/L2/math", "--configfile", "config/test.yaml")
    assert proc.returncode == 0, proc.stderr
    assert not (work / lay.shard(model, "L2", "math")).exists() and (work / lay.shard(model, "L1", "math")).exists()
    jobs = planned_jobs(demo_copy.snakemake("-n", "--cores", "1").stdout)
    assert jobs["infer_shard"] == 1 and jobs["judge_shard"] == 1 and jobs["merge_runs"] == 1, jobs
