"""`slmbench status` on a real study folder: prompt rows, a spreadsheet or a question file, shard, score and
benchmark files, a real judge cache, a real lock held by another process."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import study_files as sf

from lock_holder import start_holder
from slmbench import eta
from slmbench.cli import main
from slmbench.live import inference_line
from slmbench.llm.cache import ContentCache
from slmbench.locks import study_lock_holder
from slmbench.records import RunRecord
from slmbench.status import collect_status, format_status

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def study(tmp_path, monkeypatch):
    """20 shards (2 models x 5 levels x 2 categories) of 2 questions; the working directory is the study's."""
    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path)
    sf.write_prompts(tmp_path)
    return tmp_path, config


def status_of(config: Path, *extra: str, capsys) -> str:
    assert main(["status", "--configfile", str(config), *extra]) == 0
    return capsys.readouterr().out


def ledger_bytes(work: Path) -> str:
    files = [work / "results" / name for name in ("judge_cache.sqlite", "judge_cache.sqlite-wal")]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files if f.exists())).hexdigest()


def load(config):
    from slmbench.profile import load_study_config

    cfg, files = load_study_config([str(config)])
    return collect_status(cfg, files)


# The prior for this machine (not in the board table: 20 GB/s) and the study's models (files not there: 2.5 GB),
# written out from the documented model (slmbench/eta.py) as a check of the numbers status prints.
SPEED = 20.0 * 0.65 / 2.5  # tokens/s
ANSWER_S = 48 / SPEED + 300 / (SPEED * 8)  # demo max_tokens 48 < 400 tokens; 300 prompt tokens
PRIOR_SHARD_S = 4.0 + 2.5 + 2 * 1.15 * ANSWER_S  # fixed, load (no sensor: no idle re-measure); 2 answers, 15 % again
PRIOR_JUDGE_S = 3.0 + 2 * 6.0  # a job's start; 2 verdicts of a remote judge at concurrency 1


@pytest.fixture
def live_run(study):
    """A real run holding a study's lock in another process (slmbench.locks, tests/lock_holder.py): this study's
    (`results`) unless another one's is named; yields a function that also writes Snakemake's lock file of the
    working directory, which status must leave alone."""
    work, _ = study
    holders = []

    def run(*outputs: str, results_dir: str = "results") -> Path:
        holders.append(start_holder(work / results_dir))
        lock = work / ".snakemake" / "locks" / "0.output.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text("".join(f"{o}\n" for o in outputs))
        return lock

    yield run
    for holder in holders:
        holder.kill()
        holder.wait()


def test_before_the_start_it_prints_the_plan_and_its_estimate(study, capsys):
    work, config = study
    out = status_of(config, capsys=capsys)
    assert "inference shards: 0/20 done" in out
    assert "judged: 0/20 shards" in out
    status = load(config)
    assert status.estimate.inference_s == pytest.approx(20 * PRIOR_SHARD_S)
    assert status.estimate.judging_s == pytest.approx(20 * PRIOR_JUDGE_S)
    # no judge.overlap: judge jobs wait for the quiet windows of inference, so the two add up
    assert status.eta_s == pytest.approx(20 * (PRIOR_SHARD_S + PRIOR_JUDGE_S))
    plan = next(line for line in out.splitlines() if line.startswith("plan:"))
    assert plan.startswith(f"plan: 40 answers (the prompt CSVs) in 20 shards, about {eta.duration(status.eta_s)}: ")
    assert f"inference about {eta.duration(20 * PRIOR_SHARD_S)}" in plan
    assert f"judging about {eta.duration(20 * PRIOR_JUDGE_S)} (estimated at 15 s per judge job" in plan
    assert f"estimated (none measured yet): alpha {PRIOR_SHARD_S:.0f} s/shard, beta {PRIOR_SHARD_S:.0f} s/shard" in plan
    assert "20 GB/s assumed" in plan
    # the judge's upper estimate for 40 verdicts is printed before anything is spent
    assert "$0.00 spent" in out and "upper estimate, nothing judged yet" in out
    assert status.cost.estimate_usd > 0
    assert out.rstrip().splitlines()[-1].startswith("next: check the board (`slmbench doctor`), then start")


def test_before_the_prompt_csvs_the_plan_counts_the_question_file(tmp_path, monkeypatch, capsys):
    """prompts.source: generate: the questions of each category in questions.file (never a guessed 10)."""
    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path)
    questions = tmp_path / "config" / "demo_questions.jsonl"
    questions.write_text("".join(f'{{"question_id": {q}, "category": "{c}", "turns": ["Q{q}?"]}}\n'
                                 for q, c in ((1, "writing"), (2, "writing"), (3, "writing"), (4, "math"),
                                              (5, "coding"))), encoding="utf-8")  # coding: not in the study
    status = load(config)
    assert status.total_answers == 2 * 5 * 4 and status.answers_source == "config/demo_questions.jsonl"
    assert "plan: 40 answers (config/demo_questions.jsonl) in 20 shards" in status_of(config, capsys=capsys)
    questions.unlink()  # the study before its download: nothing to count, and it says so
    out = status_of(config, capsys=capsys)
    assert "plan: 20 shards; the answers are counted once config/demo_questions.jsonl is there" in out


def test_before_the_prompt_csvs_the_plan_counts_the_spreadsheet(tmp_path, monkeypatch, capsys):
    import openpyxl
    import yaml

    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["prompts"].update({"source": "spreadsheet", "spreadsheet": "data/generated_prompts.xlsx"})
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["question_id", "category", *sf.LEVELS])
    for qid, category in ((81, "writing"), (82, "writing"), (83, "writing"), (111, "math"), (131, "coding")):
        sheet.append([qid, category, *[f"Q{qid} {lvl}" for lvl in sf.LEVELS]])
    (tmp_path / "data").mkdir()
    book.save(tmp_path / "data" / "generated_prompts.xlsx")
    status = load(config)
    assert status.total_answers == 2 * 5 * 4 and status.answers_source == "data/generated_prompts.xlsx"
    assert "plan: 40 answers (data/generated_prompts.xlsx) in 20 shards" in status_of(config, capsys=capsys)


def test_counts_errors_missing_energy_judged_shards_and_the_eta_per_model(study, capsys):
    work, config = study
    sf.write_shard(work, "alpha", "L0", "writing", errors=1)
    sf.write_shard(work, "alpha", "L1", "writing", energy=False)
    sf.write_shard(work, "alpha", "L2", "writing")
    sf.write_benchmark(work, "alpha", "L0", "writing", 60.0)
    sf.write_benchmark(work, "alpha", "L1", "writing", 80.0)
    # alpha/L2/writing has no benchmark TSV: its answers' latency (2 x 2 s) plus a load stand in
    sf.write_scores(work, "alpha", "L0", "writing")
    status = load(config)
    out = format_status(status)
    assert "inference shards: 3/20 done" in out
    assert "runs: 6/40 recorded, 1 errors (in alpha/L0/writing), 2 without energy" in out
    assert "judged: 1/20 shards" in out
    alpha = (60.0 + 80.0 + 4.0 + eta.SHARD_FIXED_S) / 3
    # beta has no measured shard: it takes alpha's mean
    assert status.estimate.inference_s == pytest.approx(alpha * 7 + alpha * 10)
    assert status.estimate.judging_s == pytest.approx(19 * PRIOR_JUDGE_S)  # no judge job measured yet
    assert "alpha" in out and "measured over 3" in out and "other models' mean" in out


def test_timing_and_shard_repeats_are_counted_apart_from_the_runs(study, capsys):
    from slmbench.records import read_jsonl, write_jsonl

    work, config = study
    path = sf.write_shard(work, "alpha", "L0", "writing")
    records = list(read_jsonl(path))
    write_jsonl(path, records + [{**records[0], "repeat": 1}, {**records[0], "shard_repeat": 1},
                                 {**records[1], "shard_repeat": 1}])
    out = format_status(load(config))
    assert "runs: 2/40 recorded (besides them 1 timing repeats and 2 shard-repeat runs, never judged)" in out


def test_cost_so_far_comes_from_the_ledger_read_only_even_while_a_judge_writes(study, capsys):
    work, config = study
    cache = ContentCache(work / "results" / "judge_cache.sqlite")
    for i in range(4):
        cache.put(f"k{i}", {"judge_status": "ok", "judge_prompt_tokens": 1000, "judge_completion_tokens": 100},
                  spender="gpt-4o", usd=0.25)
    # a judge job holds a write transaction (not committed) at the moment status runs
    cache.db.execute("BEGIN IMMEDIATE")
    cache.db.execute("INSERT INTO spend VALUES ('k9', 'gpt-4o', 5.0, 1, 1, 0)")
    before = ledger_bytes(work)
    started = time.monotonic()
    out = status_of(config, capsys=capsys)
    assert time.monotonic() - started < 5  # never waits for the writer
    assert "judge cost: $1.00 spent (4 verdicts paid)" in out
    # 40 verdicts in the plan, 4 stored: 36 more at the measured $0.25 each
    assert "$10.00 estimated for the whole study (from the verdicts so far)" in out
    assert ledger_bytes(work) == before  # status wrote nothing to the database or its log
    cache.db.execute("ROLLBACK")
    cache.close()


def test_a_local_judge_costs_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path, backend="llamacpp", price_per_mtok=None, model_path="models/j.gguf")
    assert "no cost: local judge" in status_of(config, capsys=capsys)


def test_during_a_run_it_shows_the_running_shard_and_leaves_the_lock_alone(study, live_run, capsys):
    work, config = study
    sf.write_shard(work, "alpha", "L0", "writing")
    sf.write_benchmark(work, "alpha", "L0", "writing", 100.0)
    lock = live_run("results/shards/alpha/L1/writing.jsonl")
    log = work / sf.layout().log("inference/alpha/L1/writing")
    log.parent.mkdir(parents=True, exist_ok=True)
    record = RunRecord(model_id="alpha", model_file="a.gguf", model_sha256=None, quant=None, level="L1",
                       question_id=81, category="writing", prompt="p", prompt_tokens=61, completion_tokens=178,
                       latency_ms=2345.6, energy_j=3.456)
    log.write_text("model alpha loaded in 1.2 s (a.gguf)\n" + inference_line(record) + "\n")
    failed = work / sf.layout().log("inference/alpha/L2/writing")  # failed earlier in this run: not running
    failed.parent.mkdir(parents=True, exist_ok=True)
    failed.write_text("slmbench: error: could not load models/alpha.gguf (out of memory)\n")
    status = load(config)
    out = format_status(status)
    assert "running: alpha/L1/writing (1/2 answers)" in out and "alpha/L2/writing" not in out
    # alpha: 19 shards left at 100 s, the running one half done
    assert status.estimate.inference_s == pytest.approx(100.0 * 18.5)
    assert out.splitlines()[-1].startswith("next: the run is going (inference)")
    assert "held by the run started " in out
    assert study_lock_holder(work / "results") is not None  # status took nothing
    assert lock.exists() and lock.read_text() == "results/shards/alpha/L1/writing.jsonl\n"


def test_a_run_of_another_study_in_the_same_folder_is_not_this_study_s(study, live_run, capsys):
    work, config = study
    sf.write_shard(work, "alpha", "L0", "writing")
    live_run("results/demo/shards/gemma3-270m/L0/math.jsonl", results_dir="results/demo")  # the demo, inside it
    out = status_of(config, capsys=capsys)
    assert "the run is going" not in out and "running:" not in out
    assert out.splitlines()[-1].startswith("next: continue with the same command")


def test_during_judging_runs_are_n_of_n_with_a_judging_eta_and_no_rerun_advice(study, live_run, capsys):
    work, config = study
    for m in sf.MODELS:
        for level in sf.LEVELS:
            for c in sf.CATEGORIES:
                sf.write_shard(work, m, level, c)
    start = time.time() - 100
    for i, level in enumerate(sf.LEVELS[:2]):  # 4 judge jobs of 10 s, two at a time
        for c in sf.CATEGORIES:
            path = sf.write_scores(work, "alpha", level, c)
            sf.write_benchmark(work, "alpha", level, c, 10.0, stage="judge")
            os.utime(path, (start + 10 * (i + 1),) * 2)
    live_run("results/scores/alpha/L2/math.csv")
    status = load(config)
    out = format_status(status)
    assert "runs: 40/40 recorded" in out and "judged: 4/20 shards" in out
    assert status.estimate.inference_s == 0 and status.estimate.judging_s == pytest.approx(16 * 10.0 / 2)
    assert "ETA: judging about 1 min for 16 shards (10 s per judge job measured over 4, 2.0 at once)" in out
    assert out.splitlines()[-1].startswith("next: the run is going (judging)")
    assert "run the same command again" not in out


def test_when_everything_is_done_it_says_what_to_open_and_how_to_redo_errors(study, capsys):
    work, config = study
    for m in sf.MODELS:
        for level in sf.LEVELS:
            for c in sf.CATEGORIES:
                sf.write_shard(work, m, level, c, errors=int((m, level, c) == ("beta", "P", "math")))
                sf.write_scores(work, m, level, c)
    sf.write_reports(work)
    (work / "results" / "validation.txt").write_text("PASS runs\n\nRESULT: PASS (0 failed, 1 warnings, 2 info)\n")
    out = status_of(config, capsys=capsys)
    assert "inference shards: 20/20 done" in out and "judged: 20/20 shards" in out
    assert "validation: RESULT: PASS (0 failed, 1 warnings, 2 info) (results/validation.txt)" in out
    last = out.rstrip().splitlines()[-1]
    assert "slmbench redo --errors" in last and "results/model_comparison.xlsx" in last
    assert "results/index.html" in last


def test_an_unreadable_shard_is_named(study, capsys):
    work, config = study
    shard = work / sf.layout().shard("alpha", "L0", "math")
    shard.parent.mkdir(parents=True)
    shard.write_text('{"model_id": "alpha"}\n{"cut')
    out = status_of(config, capsys=capsys)
    assert "unreadable shard results/shards/alpha/L0/math.jsonl" in out and ":2:" in out


def test_a_profile_s_config_files_are_read(study, capsys):
    work, config = study
    extra = work / "profiles" / "board" / "board.yaml"
    extra.parent.mkdir(parents=True)
    extra.write_text("inference:\n  max_tokens: 64\n")
    (extra.parent / "config.yaml").write_text("configfile:\n  - config/study.yaml\n  - profiles/board/board.yaml\n")
    assert main(["status", "--profile", "profiles/board"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("slmbench status: config config/study.yaml + profiles/board/board.yaml")


def test_the_jetson_profile_shows_jetpack6(tmp_path):
    """The acceptance line: `status --profile profiles/jetson` names jetpack6.yaml among the config files."""
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "status", "--profile", "profiles/jetson"], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert proc.returncode == 0, proc.stderr
    assert "profiles/jetson/jetpack6.yaml" in proc.stdout.splitlines()[0]


def test_bad_inputs_are_one_line_naming_the_file(study, capsys):
    work, config = study
    assert main(["status", "--profile", "profiles/nowhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "profiles/nowhere/config.yaml" in err
    broken = work / "config" / "broken.yaml"
    broken.write_text(re.sub(r"\n +max_tokens: \d+\n", "\n", config.read_text(), count=1))  # inference's
    assert main(["status", "--configfile", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "max_tokens" in err


def test_a_config_that_is_not_yaml_is_one_line_naming_it(study, capsys):
    work, config = study
    bad = work / "config" / "bad.yaml"
    bad.write_text("inference:\n  max_tokens: [1\n")
    assert main(["status", "--configfile", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.yaml" in err and "line" in err


def test_the_entry_script_s_status_reads_the_profile_and_never_runs_snakemake(study):
    work, config = study
    script = REPO / "scripts" / "run_full_benchmark.sh"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SNAKEMAKE": "false",  # a Snakemake call would fail
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.run(["bash", str(script), "status", "--profile", "profiles/jetson"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "profiles/jetson/jetpack6.yaml" in proc.stdout.splitlines()[0]
    sf.write_shard(work, "alpha", "L0", "math")
    proc = subprocess.run(["bash", str(script), "status", "--directory", str(work), "--configfile",
                           "config/study.yaml"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "inference shards: 1/20 done" in proc.stdout
    assert not (work / ".snakemake").exists()


def test_the_end_of_run_line_names_the_validation_result_and_the_page_to_open(study):
    from slmbench.status import run_end_line

    work, _ = study
    lay = sf.layout()
    assert "no results yet" in run_end_line(lay)
    sf.write_reports(work)
    (work / lay.validation).write_text("FAIL runs\n\nRESULT: FAIL (1 failed, 0 warnings)\n")
    assert run_end_line(lay) == ("slmbench: validation FAIL (1 failed, 0 warnings) (see results/validation.txt); "
                                 "open results/index.html")


def test_a_validation_older_than_the_runs_is_never_the_result(study):
    """A run that rebuilt the runs but not validation.txt (a target other than the whole study)."""
    from slmbench.status import run_end_line

    work, _ = study
    lay = sf.layout()
    sf.write_reports(work)
    (work / lay.validation).write_text("PASS runs\n\nRESULT: PASS (0 failed, 0 warnings)\n")
    later = time.time() + 5
    for newer in (lay.runs, lay.scores_merged, lay.workbook("model_comparison")):
        os.utime(work / newer, (later, later))
    line = run_end_line(lay)
    assert "PASS" not in line and line.startswith("slmbench: validation not rebuilt by this run")
    assert "not rebuilt: validation.txt, judge_agreement.csv, index.html" in line
    assert "open results/model_comparison.xlsx" in line  # not the older viewer page


def test_the_start_of_a_run_prints_the_plan_its_time_and_cost(study):
    from slmbench.profile import load_study_config
    from slmbench.status import start_lines

    work, config = study
    lines = start_lines(*load_study_config([str(config)])).splitlines()
    assert [line.split(":")[0] for line in lines] == ["inference shards", "judge cost", "plan"]


def test_with_two_prompt_variants_the_plan_counts_every_wording(tmp_path, monkeypatch, capsys):
    """prompts.variants: 2 doubles the answers: from the prompt CSVs' rows, or the question file x 2 before them."""
    import yaml

    from slmbench.prompt_rows import PromptRow, write_prompt_rows

    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["prompts"]["variants"] = 2
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    (tmp_path / "config" / "demo_questions.jsonl").write_text(
        '{"question_id": 1, "category": "writing", "turns": ["Q?"]}\n', encoding="utf-8")
    assert load(config).total_answers == 10 * 1 * 2  # no prompt CSVs yet: 1 writing question x 2 wordings
    for category, qids in sf.QUESTIONS.items():
        rows = [PromptRow(q, category, lvl, f"Q{q} {lvl} v{v}", v) for q in qids for v in (0, 1) for lvl in sf.LEVELS]
        write_prompt_rows(rows, tmp_path / sf.layout().prompts_csv(category))
    assert "plan: 80 answers (the prompt CSVs) in 20 shards" in status_of(config, capsys=capsys)
