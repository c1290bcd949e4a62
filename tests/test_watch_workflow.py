"""Watching a real (reduced) demo run: live lines in the shard logs, `slmbench status`, `slmbench redo`, and the
viewer built from the run's own files, loaded in headless chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_helpers import REPO, make_workdir, planned_jobs, snakemake
from slmbench.layout import StudyLayout
from slmbench.records import read_jsonl
from slmbench.report.viewer import write_index_html
from test_viewer import load_in_chromium

CATEGORIES = ["math", "coding"]
LEVELS = ["L0", "L1", "L2", "L3", "P"]


def slmbench(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *args], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, tiny_model):
    work = make_workdir(tmp_path_factory.mktemp("watch"), tiny_model.parent, categories=CATEGORIES,
                        **{"inference.max_tokens": 16, "judge.max_tokens": 96})
    snakemake(work, "--cores", "2")
    config = yaml.safe_load((work / "config" / "test.yaml").read_text())
    return work, config, StudyLayout.from_config(config)


@pytest.mark.slow
def test_each_shard_log_has_one_live_line_per_run(demo):
    work, config, lay = demo
    model = config["models"][0]["id"]
    for level in LEVELS:
        for category in CATEGORIES:
            runs = list(read_jsonl(work / lay.shard(model, level, category)))
            log = (work / lay.log(f"inference/{model}/{level}/{category}")).read_text(encoding="utf-8")
            lines = re.findall(rf"^\[{level}\] Q\d+ {category}  Latency: \d+\.\dms \| Tokens: \d+→\d+ \| "
                               r"Energy: (?:n/a|\d+\.\d{3}J)$", log, re.M)
            assert len(lines) == len(runs) >= 1, log
            assert re.search(rf"^model {model} loaded in \d+\.\d s", log, re.M) and "idle power:" in log


@pytest.mark.slow
def test_the_viewer_of_the_real_run_loads_and_lists_every_question(demo):
    work, config, lay = demo
    page = write_index_html(work / lay.runs, work / lay.scores_merged, work / lay.results_dir, work / lay.index_html,
                            title="slmbench demo", note=config["judge"]["demo_note"])
    dom, console = load_in_chromium(page)
    assert console == []
    qids = {r["question_id"] for r in read_jsonl(work / lay.runs)}
    assert {int(q) for q in re.findall(r'<tbody class="question" data-qid="(\d+)"', dom)} == qids
    assert 'href="model_comparison.xlsx"' in dom and "RESULT:" in dom


@pytest.mark.slow
def test_status_after_the_run_then_redo_plans_the_shard_again(demo):  # last: redo deletes the reports
    work, config, lay = demo
    proc = slmbench(work, "status", "--configfile", "config/test.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "inference shards: 10/10 done" in proc.stdout and "judged: 10/10 shards" in proc.stdout
    assert "validation: RESULT:" in proc.stdout
    model = config["models"][0]["id"]
    proc = slmbench(work, "redo", "--shard", f"{model}/L2/math", "--configfile", "config/test.yaml")
    assert proc.returncode == 0, proc.stderr
    assert not (work / lay.shard(model, "L2", "math")).exists() and (work / lay.shard(model, "L1", "math")).exists()
    jobs = planned_jobs(snakemake(work, "-n", "--cores", "1").stdout)
    assert jobs["infer_shard"] == 1 and jobs["judge_shard"] == 1 and jobs["merge_runs"] == 1, jobs
