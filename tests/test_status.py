"""`slmbench status` on a real study folder: shard, score and benchmark files, a real judge cache, a lock."""

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

from lock_holder import holding
from slmbench.cli import main
from slmbench.live import inference_line
from slmbench.llm.cache import ContentCache
from slmbench.locks import study_lock_holder
from slmbench.records import RunRecord
from slmbench.status import ESTIMATED_LOAD_S, ESTIMATED_S_PER_ANSWER, collect_status, format_status

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


def test_before_the_start_it_prints_the_plan_and_its_estimate(study, capsys):
    work, config = study
    out = status_of(config, capsys=capsys)
    assert "inference shards: 0/20 done" in out
    assert "judged: 0/20 shards" in out
    per_shard = 2 * ESTIMATED_S_PER_ANSWER + ESTIMATED_LOAD_S
    status = load(config)
    assert status.eta_s == pytest.approx(20 * per_shard)
    assert "plan: 40 answers in 20 shards" in out
    # the judge's upper estimate for 40 verdicts is printed before anything is spent
    assert "$0.00 spent" in out and "upper estimate, nothing judged yet" in out
    assert status.cost.estimate_usd > 0
    assert "estimated at 9 s/answer, none measured yet" in out
    assert out.rstrip().splitlines()[-1].startswith("next: check the board (`slmbench doctor`), then start")


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
    alpha = (60.0 + 80.0 + 4.0 + ESTIMATED_LOAD_S) / 3
    # beta has no measured shard: it takes alpha's mean
    assert status.eta_s == pytest.approx(alpha * 7 + alpha * 10)
    assert "alpha" in out and "measured over 3" in out and "other models' mean" in out


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


def test_during_a_run_it_shows_the_running_shard_and_leaves_the_lock_alone(study, capsys):
    work, config = study
    sf.write_shard(work, "alpha", "L0", "writing")
    sf.write_benchmark(work, "alpha", "L0", "writing", 100.0)
    lock = work / ".snakemake" / "locks" / "0.input.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("results/shards/alpha/L1/writing.jsonl\n")
    with holding(work / "results") as run:  # a live run holds the study (its lock is in results_dir)
        time.sleep(1.1)  # the run started before the shard's log was written (1 s resolution of its start)
        _during_a_run(work, config, lock, run)


def _during_a_run(work, config, lock, run):
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
    assert status.eta_s == pytest.approx(100.0 * 18.5)
    assert out.splitlines()[-1].startswith("next: the run is going")
    assert "held by the run started " in out and f"(pid {run.pid} on host " in out
    assert lock.exists() and lock.read_text() == "results/shards/alpha/L1/writing.jsonl\n"
    assert study_lock_holder(work / "results").pid == run.pid  # status took nothing


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
    broken.write_text(re.sub(r"\n +max_tokens: 128\n", "\n", config.read_text(), count=1))
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
    assert "no validation yet" in run_end_line(lay)
    sf.write_reports(work)
    (work / lay.validation).write_text("FAIL runs\n\nRESULT: FAIL (1 failed, 0 warnings)\n")
    assert run_end_line(lay) == ("slmbench: validation FAIL (1 failed, 0 warnings) (see results/validation.txt); "
                                 "open results/index.html")


def test_the_start_of_a_run_prints_the_plan_its_time_and_cost(study):
    from slmbench.profile import load_study_config
    from slmbench.status import start_lines

    work, config = study
    lines = start_lines(*load_study_config([str(config)])).splitlines()
    assert [line.split(":")[0] for line in lines] == ["inference shards", "judge cost", "plan"]


def test_with_two_prompt_variants_the_plan_counts_every_wording(tmp_path, monkeypatch, capsys):
    """prompts.variants: 2 doubles the answers: from the prompt CSVs' rows, or 10 x 2 per shard before them."""
    import yaml

    from slmbench.prompt_rows import PromptRow, write_prompt_rows

    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["prompts"]["variants"] = 2
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    assert load(config).total_answers == 20 * 10 * 2  # no prompt CSVs yet: the design's 10 questions x 2
    for category, qids in sf.QUESTIONS.items():
        rows = [PromptRow(q, category, lvl, f"Q{q} {lvl} v{v}", v) for q in qids for v in (0, 1) for lvl in sf.LEVELS]
        write_prompt_rows(rows, tmp_path / sf.layout().prompts_csv(category))
    assert "plan: 80 answers in 20 shards" in status_of(config, capsys=capsys)
