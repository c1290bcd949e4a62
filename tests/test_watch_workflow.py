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
from pathlib import Path

import pytest

from demo_study import CATEGORIES, LEVELS
from figure_checks import drawn_texts, overlapping_texts
from pipeline_helpers import REPO, planned_jobs
from slmbench.records import read_jsonl
from test_viewer import load_in_chromium

pytestmark = pytest.mark.slow
# what a run prints that is not Snakemake's: the jobs' live lines, the plan, our progress and end lines
OURS = re.compile(r"^(\[(L0|L1|L2|L3|P)\] Q\d+ |\[\d+/\d+\] Judging |model \S+ loaded in |idle power: |slmbench: "
                  r"|(inference shards|runs|judge cost|plan|ETA): )")


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
    # the plan counts the demo's real answers: one question per category in its question file, five levels
    assert re.search(r"^plan: 10 answers \(config/demo_questions\.jsonl\) in 10 shards, about \d+ (min|s): "
                     r"inference about \d+ (min|s) .*judging about \d+ (min|s)", console, re.M), console[:3000]
    assert re.search(r"^slmbench: \d+ of \d+ jobs done; about .* left", console, re.M)  # progress with the time left
    assert re.search(r"^slmbench: validation (PASS|FAIL|WARN).*open .*index\.html", console, re.M), console[-2000:]
    assert "rule infer_shard:" not in console  # the default profile's quiet: [rules, host]


def test_scheduler_chatter_is_under_a_tenth_and_every_answer_and_verdict_has_its_line(demo):
    work, config, lay, console = demo
    lines = [line for line in console.splitlines() if line.strip()]
    chatter = [line for line in lines if not OURS.match(line)]
    assert len(chatter) <= 0.1 * len(lines), "\n".join(chatter[:40])
    assert not any(line.startswith(("Select jobs to execute", "Finished jobid", "Execute ")) for line in lines)
    runs = list(read_jsonl(work / lay.runs))  # every measurement: the scored runs and the timing repeats
    scored = [r for r in runs if r.get("repeat", 0) == 0 and r.get("shard_repeat", 0) == 0]
    verdicts = sum(1 for line in (work / lay.scores_merged).read_text(encoding="utf-8").splitlines()[1:] if line)
    answer_lines = [line for line in lines if re.match(r"^\[(L0|L1|L2|L3|P)\] Q\d+ \w+  (Latency|ERROR)", line)]
    verdict_lines = [line for line in lines if re.match(r"^\[\d+/\d+\] Judging Q\d+ ", line)]
    assert len(answer_lines) == len(runs), (len(answer_lines), len(runs))
    assert len(verdict_lines) == verdicts >= len(scored), (len(verdict_lines), verdicts, len(scored))


def test_status_during_judging_counts_every_run_has_a_judging_eta_and_says_the_run_is_going(demo_study):
    out = demo_study.status_during_judging  # `slmbench status`, taken once while the shared run was judging
    assert out is not None, "the run was never seen judging"
    assert "inference shards: 10/10 done" in out and "runs: 10/10 recorded" in out, out
    assert re.search(r"^ETA: judging about \d+ (min|s) for \d+ shards", out, re.M), out
    last = out.strip().splitlines()[-1]
    assert last.startswith("next: the run is going (judging)"), out
    assert "run the same command again" not in out


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
    page = work / lay.index_html  # written by the workflow's reports job
    assert page.exists()
    dom, console = load_in_chromium(page)
    assert console == []
    qids = {r["question_id"] for r in read_jsonl(work / lay.runs)}
    assert {int(q) for q in re.findall(r'<tbody class="question" data-qid="(\d+)"', dom)} == qids
    assert 'href="model_comparison.xlsx"' in dom and "RESULT:" in dom


def test_the_real_figures_have_no_overlapping_text_and_none_reads_not_measured(demo):
    from slmbench.layout import PLOTS
    from slmbench.report.analysis import load_analysis
    from slmbench.report.plots import figure, omitted

    work, config, lay, _ = demo
    analysis = load_analysis(work / lay.runs, work / lay.scores_merged, {"levels": LEVELS})
    assert omitted(analysis) == {}  # every figure has its data
    for name in PLOTS:
        fig = figure(analysis, name)
        assert overlapping_texts(fig) == [], name
        assert not any("not measured" in t.get_text().lower() for t in drawn_texts(fig)), name


def test_a_shard_deleted_by_hand_is_planned_again(demo_copy):
    shard = demo_copy.work / demo_copy.layout.shard(demo_copy.model, "L1", "coding")
    aside = shard.with_name("aside.jsonl")
    shard.rename(aside)  # only the shard: its score, the merged runs and the reports are all still there
    jobs = planned_jobs(demo_copy.snakemake("-n", "--cores", "1").stdout)
    assert jobs["infer_shard"] == 1 and jobs["judge_shard"] == 1 and jobs["merge_runs"] == 1, jobs
    assert jobs["reports"] == 1 and jobs["validate"] == 1 and "viewer" not in jobs, jobs  # the viewer: in reports
    aside.rename(shard)
    assert "Nothing to be done" in demo_copy.snakemake("-n", "--cores", "1").stdout  # restored: all up to date


def test_the_mission_target_after_a_planted_error_never_prints_a_stale_pass(demo_copy):
    """README: `snakemake --cores 1 results/model_comparison.xlsx`. A record turned into an error: the target
    rebuilds the validation (an input of the reports) and the viewer, and the end line says what they found."""
    work, lay = demo_copy.work, demo_copy.layout
    before = (work / lay.validation).read_text(encoding="utf-8").strip().splitlines()[-1]
    shard = work / lay.shard(demo_copy.model, "L2", "math")
    records = list(read_jsonl(shard))
    records[0].update(status="error", output=None, error="planted: llama_decode returned -3")
    shard.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), encoding="utf-8")
    proc = demo_copy.snakemake("--cores", "2", lay.workbook("model_comparison"))
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
