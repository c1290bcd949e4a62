"""Watching a real (reduced) demo run: live lines in the shard logs and on the console (scheduler chatter kept
under a tenth of the lines), the plan printed at the start and the validation line at the end, `slmbench status`
during judging and after, a shard deleted by hand or by `slmbench redo` planned again, the prompt review, every
figure as PNG and PDF with no text overprinting another, the workflow's viewer loaded in headless chromium, and
the README's mission target after a planted error record: its end line never shows a stale PASS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from figure_checks import drawn_texts, overlapping_texts
from pipeline_helpers import REPO, make_workdir, planned_jobs, snakemake
from slmbench.layout import StudyLayout
from slmbench.records import read_jsonl
from test_viewer import load_in_chromium

CATEGORIES = ["math", "coding"]
LEVELS = ["L0", "L1", "L2", "L3", "P"]
# what a run prints that is not Snakemake's: the jobs' live lines, the plan, our progress and end lines
OURS = re.compile(r"^(\[(L0|L1|L2|L3|P)\] Q\d+ |\[\d+/\d+\] Judging |model \S+ loaded in |idle power: |slmbench: "
                  r"|(inference shards|runs|judge cost|plan|ETA): )")


def slmbench(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *args], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)


def run_watching_judging(work: Path, lay: StudyLayout, shards: list, scores: list):
    """Snakemake as README command 1 starts it (the default profile, its console), and `slmbench status` taken
    once while the run judges: every shard written, not every score."""
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    console = work / "console.txt"
    with open(console, "w", encoding="utf-8") as out:
        run = subprocess.Popen([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                                str(work), "--cores", "2", "--configfile", "config/test.yaml"], cwd=work, env=env,
                               stdout=out, stderr=subprocess.STDOUT, text=True)
        during = None
        deadline = time.monotonic() + 1500
        while run.poll() is None and time.monotonic() < deadline:
            if during is None and all((work / p).exists() for p in shards) and not all(
                    (work / p).exists() for p in scores):
                during = slmbench(work, "status", "--configfile", "config/test.yaml")
            time.sleep(0.2)
        assert run.wait(timeout=60) == 0, console.read_text(encoding="utf-8")[-6000:]
    return console.read_text(encoding="utf-8"), during


@pytest.fixture(scope="module")
def demo(tmp_path_factory, tiny_model):
    work = make_workdir(tmp_path_factory.mktemp("watch"), tiny_model.parent, categories=CATEGORIES,
                        # no timing repeats: one live line per question on the console; judging after inference
                        **{"inference.max_tokens": 16, "judge.max_tokens": 96, "inference.timing_repeats": 0.0,
                           "judge.overlap": False})
    config = yaml.safe_load((work / "config" / "test.yaml").read_text())
    lay = StudyLayout.from_config(config)
    model = config["models"][0]["id"]
    shards = [lay.shard(model, lvl, c) for lvl in LEVELS for c in CATEGORIES]
    scores = [lay.scores(model, lvl, c) for lvl in LEVELS for c in CATEGORIES]
    console, during = run_watching_judging(work, lay, shards, scores)
    return work, config, lay, console, during


@pytest.mark.slow
def test_each_shard_log_has_one_live_line_per_run(demo):
    work, config, lay, _, _ = demo
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
def test_the_console_shows_the_live_lines_the_plan_and_the_result(demo):
    work, config, lay, console, _ = demo
    answers = re.findall(r"^\[(?:L0|L1|L2|L3|P)\] Q\d+ \w+  Latency: \d+\.\dms \| Tokens: \d+→\d+", console, re.M)
    assert len(answers) == len(CATEGORIES) * len(LEVELS), console[-3000:]  # one per answer (one question each)
    assert re.search(r"^model \S+ loaded in", console, re.M) and re.search(r"^idle power:", console, re.M)
    assert re.search(r"^inference shards: 0/10 done$", console, re.M), console[:3000]  # the start: the plan
    # the plan counts the demo's real answers: one question per category in its question file, five levels
    assert re.search(r"^plan: 10 answers \(config/demo_questions\.jsonl\) in 10 shards, about \d+ (min|s): "
                     r"inference about \d+ (min|s) .*judging about \d+ (min|s)", console, re.M), console[:3000]
    assert re.search(r"^slmbench: \d+ of \d+ jobs done; about .* left", console, re.M)  # progress with the time left
    assert re.search(r"^slmbench: validation (PASS|FAIL|WARN).*open .*index\.html", console, re.M), console[-2000:]
    assert "rule infer_shard:" not in console  # the default profile's quiet: [rules, host]


@pytest.mark.slow
def test_scheduler_chatter_is_under_a_tenth_and_every_answer_and_verdict_has_its_line(demo):
    work, config, lay, console, _ = demo
    lines = [line for line in console.splitlines() if line.strip()]
    chatter = [line for line in lines if not OURS.match(line)]
    assert len(chatter) <= 0.1 * len(lines), "\n".join(chatter[:40])
    assert not any(line.startswith(("Select jobs to execute", "Finished jobid", "Execute ")) for line in lines)
    runs = list(read_jsonl(work / lay.runs))
    verdicts = sum(1 for line in (work / lay.scores_merged).read_text(encoding="utf-8").splitlines()[1:] if line)
    answer_lines = [line for line in lines if re.match(r"^\[(L0|L1|L2|L3|P)\] Q\d+ \w+  (Latency|ERROR)", line)]
    verdict_lines = [line for line in lines if re.match(r"^\[\d+/\d+\] Judging Q\d+ ", line)]
    assert len(answer_lines) == len(runs) and len(verdict_lines) == verdicts == len(runs), (len(runs), verdicts)


@pytest.mark.slow
def test_status_during_judging_counts_every_run_has_a_judging_eta_and_says_the_run_is_going(demo):
    work, config, lay, console, during = demo
    assert during is not None and during.returncode == 0, "the run was never seen judging"
    out = during.stdout
    assert "inference shards: 10/10 done" in out and "runs: 10/10 recorded" in out, out
    assert re.search(r"^ETA: judging about \d+ (min|s) for \d+ shards", out, re.M), out
    last = out.strip().splitlines()[-1]
    assert last.startswith("next: the run is going (judging)"), out
    assert "run the same command again" not in out


@pytest.mark.slow
def test_the_workflow_writes_the_review_every_figure_and_the_tidy_table(demo):
    import openpyxl

    from slmbench.layout import PLOT_FORMATS, PLOTS

    work, config, lay, _, _ = demo
    sheet = openpyxl.load_workbook(work / lay.prompt_review).worksheets[0]
    qids = {r["question_id"] for r in read_jsonl(work / lay.runs)}
    assert sheet.max_row - 1 == len(qids)  # a header, then one row per question
    assert (work / lay.prompt_audit).read_text(encoding="utf-8").strip()
    for name in PLOTS:
        for ext in PLOT_FORMATS:
            assert (work / lay.plot(name, ext)).stat().st_size > 0, (name, ext)
    assert (work / lay.summary_by_level).read_text(encoding="utf-8").startswith("model,level,metric")


@pytest.mark.slow
def test_the_viewer_of_the_real_run_loads_and_lists_every_question(demo):
    work, config, lay, _, _ = demo
    page = work / lay.index_html  # written by the workflow's reports job
    assert page.exists()
    dom, console = load_in_chromium(page)
    assert console == []
    qids = {r["question_id"] for r in read_jsonl(work / lay.runs)}
    assert {int(q) for q in re.findall(r'<tbody class="question" data-qid="(\d+)"', dom)} == qids
    assert 'href="model_comparison.xlsx"' in dom and "RESULT:" in dom


@pytest.mark.slow
def test_the_real_figures_have_no_overlapping_text_and_none_reads_not_measured(demo):
    from slmbench.layout import PLOTS
    from slmbench.report.analysis import load_analysis
    from slmbench.report.plots import figure, omitted

    work, config, lay, _, _ = demo
    analysis = load_analysis(work / lay.runs, work / lay.scores_merged, {"levels": LEVELS})
    assert omitted(analysis) == {}  # every figure has its data: the demo shows latency where energy is missing
    for name in PLOTS:
        fig = figure(analysis, name)
        assert overlapping_texts(fig) == [], name
        assert not any("not measured" in t.get_text().lower() for t in drawn_texts(fig)), name


@pytest.mark.slow
def test_a_shard_deleted_by_hand_is_planned_again(demo):
    work, config, lay, _, _ = demo
    shard = work / lay.shard(config["models"][0]["id"], "L1", "coding")
    aside = shard.with_name("aside.jsonl")
    shard.rename(aside)
    try:  # only the shard: its score, the merged runs and the reports are all still there
        jobs = planned_jobs(snakemake(work, "-n", "--cores", "1").stdout)
    finally:
        aside.rename(shard)
    assert jobs["infer_shard"] == 1 and jobs["judge_shard"] == 1 and jobs["merge_runs"] == 1, jobs
    assert jobs["reports"] == 1 and jobs["validate"] == 1 and "viewer" not in jobs, jobs  # the viewer: in reports
    assert "Nothing to be done" in snakemake(work, "-n", "--cores", "1").stdout  # restored: all up to date


@pytest.mark.slow
def test_the_mission_target_after_a_planted_error_never_prints_a_stale_pass(demo):
    """README: `snakemake --cores 1 results/model_comparison.xlsx`. A record turned into an error: the target
    rebuilds the validation (an input of the reports) and the viewer, and the end line says what they found."""
    work, config, lay, _, _ = demo
    before = (work / lay.validation).read_text(encoding="utf-8").strip().splitlines()[-1]
    shard = work / lay.shard(config["models"][0]["id"], "L2", "math")
    records = list(read_jsonl(shard))
    records[0].update(status="error", output=None, error="planted: llama_decode returned -3")
    shard.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), encoding="utf-8")
    proc = snakemake(work, "--cores", "2", lay.workbook("model_comparison"), "--quiet", "rules", "host")
    end = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("slmbench: validation")]
    assert len(end) == 1, proc.stderr[-3000:]
    validation = (work / lay.validation).read_text(encoding="utf-8")
    result = validation.strip().splitlines()[-1]  # RESULT: ... of the files as they are now
    # a failed run is a warning: the end line gives the validation rebuilt by this run, never the earlier one
    assert result != before and re.search(r"^WARN +failed runs \(status error\): 1: ", validation, re.M), validation
    assert end[0].startswith(f"slmbench: validation {result.removeprefix('RESULT: ')} (see "), (end[0], result)
    assert "not rebuilt" not in end[0]  # the target brought every result file up to date
    for made in (lay.validation, lay.judge_agreement, lay.index_html):
        assert (work / made).stat().st_mtime >= (work / lay.runs).stat().st_mtime, made


@pytest.mark.slow
def test_status_after_the_run_then_redo_plans_the_shard_again(demo):  # last: redo deletes the reports
    work, config, lay, _, _ = demo
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
