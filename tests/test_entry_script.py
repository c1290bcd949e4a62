"""scripts/run_full_benchmark.sh: the seed's entry point, run for real with a reduced demo config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_helpers import REPO, make_workdir, planned_jobs

SCRIPT = REPO / "scripts" / "run_full_benchmark.sh"


def entry(*args: str, cwd: Path, stdin=subprocess.DEVNULL, env: dict | None = None) -> subprocess.CompletedProcess:
    run_env = {**os.environ, "SNAKEMAKE": f"{sys.executable} -m snakemake", **(env or {})}
    # the venv's bin first, so the workflow's `python -m slmbench...` commands find the same packages
    run_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), run_env.get("PATH", "")])
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, stdin=stdin, capture_output=True, text=True,
                          env=run_env, timeout=1500)


def test_help_lists_the_commands(tmp_path):
    proc = entry("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for text in ("full all", "full CATEGORY", "doctor", "status", "interactive menu"):
        assert text in proc.stdout


def test_without_a_terminal_no_menu_is_shown_and_usage_fails(tmp_path):
    proc = entry(cwd=tmp_path)
    assert proc.returncode == 2 and "Usage:" in proc.stderr and "choice" not in proc.stdout + proc.stderr


def test_unknown_command_and_category_are_one_line_errors(tmp_path, tiny_model):
    work = make_workdir(tmp_path, tiny_model.parent)
    proc = entry("fulll", cwd=work)
    assert proc.returncode == 2 and "unknown command 'fulll'" in proc.stderr
    proc = entry("full", "writng", "--directory", str(work), "--configfile", "config/test.yaml", cwd=work)
    assert proc.returncode == 2
    assert "unknown category 'writng'; the config has: writing reasoning" in proc.stderr
    assert not (work / "results").exists()


def test_status_is_a_dry_run_of_the_chosen_categories(tmp_path, tiny_model):
    work = make_workdir(tmp_path, tiny_model.parent)
    proc = entry("full", "math", "stem", "-n", "--quiet", "host", "--directory", str(work), "--configfile",
                 "config/test.yaml", "--config", "results_dir=results/elsewhere", cwd=work)  # --quiet host: list jobs
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'categories=[math,stem]'" in proc.stderr  # one --config, the caller's items kept
    assert planned_jobs(proc.stdout)["infer_shard"] == 10
    assert "results/elsewhere/shards/gemma3-270m/L0/math.jsonl" in proc.stdout
    assert "/writing.jsonl" not in proc.stdout
    assert not (work / "results").exists()


@pytest.mark.slow
def test_full_one_category_runs_only_its_shards(demo_workdir):
    # a fresh run of the demo study's two categories from the shards on (its prompts and model checks copied)
    study = demo_workdir(**{"inference.max_tokens": 8, "judge.max_tokens": 96})
    work = study.work
    proc = entry("full", "math", "--directory", str(work), "--configfile", "config/test.yaml", "--cores", "2",
                 cwd=work, env=study.env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = work / "results/demo"
    shards = sorted(p.relative_to(results / "shards").as_posix() for p in (results / "shards").rglob("*.jsonl"))
    assert shards == [f"gemma3-270m/{level}/math.jsonl" for level in ["L0", "L1", "L2", "L3", "P"]]
    runs = [json.loads(line) for line in (results / "runs_llamacpp.jsonl").read_text().splitlines()]
    assert runs and {r["category"] for r in runs} == {"math"}
    assert all(r["max_tokens"] == 8 for r in runs)
    assert (results / "model_comparison.xlsx").exists()


def test_with_a_terminal_a_menu_is_shown(tmp_path):
    import pty

    master, slave = pty.openpty()
    try:
        os.write(master, b"5\n")  # quit
        proc = entry(cwd=tmp_path, stdin=slave)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, proc.stderr
    assert "full all" in proc.stderr and "choice:" in proc.stderr and "Usage:" not in proc.stderr


def test_the_menu_runs_its_choice_with_the_profile_given(tmp_path):
    """`run_full_benchmark.sh --profile profiles/jetson` in a terminal: the menu's status reads the profile's
    config files (jetpack6.yaml: the CUDA interpreter), as `status --profile` does."""
    import pty

    master, slave = pty.openpty()
    try:
        os.write(master, b"2\n")  # status
        proc = entry("--profile", "profiles/jetson", cwd=tmp_path, stdin=slave, env={"SNAKEMAKE": "false"})
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, proc.stderr
    assert "(--profile profiles/jetson)" in proc.stdout and "choice:" in proc.stderr
    first = next(line for line in proc.stdout.splitlines() if line.startswith("slmbench status:"))
    assert "config/config.yaml + profiles/jetson/jetpack6.yaml" in first, proc.stdout


def test_doctor_command_checks_the_study_config(tmp_path):
    proc = entry("doctor", cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert proc.returncode == 1
    assert "FAIL tegrastats" in proc.stdout and proc.stdout.strip().splitlines()[-1].startswith("doctor: ")


def test_status_with_the_jetson_profile_sees_its_config_files(tmp_path):
    proc = entry("status", "--profile", "profiles/jetson", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert "config/config.yaml + profiles/jetson/jetpack6.yaml" in first, proc.stdout


def test_doctor_with_the_jetson_profile_checks_the_jetpack6_interpreter(tmp_path):
    proc = entry("doctor", "--profile", "profiles/jetson", cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert proc.returncode == 1  # not a Jetson
    python_line = next(line for line in proc.stdout.splitlines() if " inference python" in line)
    assert "/usr/bin/python3" in python_line  # jetpack6.yaml's inference.python, not Snakemake's own


def test_full_with_a_profile_adds_no_configfile_of_its_own(tmp_path):
    proc = entry("full", "all", "--profile", "profiles/jetson", "-n", cwd=tmp_path)
    trace = [line for line in proc.stderr.splitlines() if line.startswith("+ ") and "Snakefile" in line]
    assert trace and "--profile profiles/jetson" in trace[0] and "--configfile" not in trace[0], proc.stderr
    # the repository has no prompt spreadsheet: the study stops at the parse with one line naming it
    assert proc.returncode != 0 and "data/generated_prompts.xlsx" in proc.stderr and "Traceback" not in proc.stderr
