"""One run per study: the lock lives in the results directory, a live holder is never run over, a dead one's
lock is always taken back; Snakemake's own lock left by a killed run is removed only when no run is alive."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lock_holder import SRC, holding, start_holder
from slmbench.locks import (
    RUN_TOKEN_ENV,
    claim_study,
    claim_workdir,
    find_study_root,
    release_study,
    study_lock_holder,
    writing_into_study,
)

ENV = {**os.environ, "PYTHONPATH": SRC}


def in_child(code: str, *args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """`code` in a fresh process (this one may hold claims of earlier tests)."""
    return subprocess.run([sys.executable, "-c", code, *args], env=env or ENV, capture_output=True, text=True,
                          cwd=cwd, timeout=60)


CLAIM = ("import sys\nfrom slmbench.locks import claim_study\nfrom slmbench.errors import UserError\n"
         "try:\n    claim_study(sys.argv[1], unlocking=len(sys.argv) > 2); print('won')\n"
         "except UserError as exc:\n    print(exc)\n")


def test_a_live_run_is_refused_from_any_directory_in_one_line_naming_it(tmp_path):
    results = tmp_path / "study" / "results"
    with holding(results, cwd=tmp_path) as run:
        for cwd in (tmp_path, results.parent, Path("/")):  # the run's directory, the study's, anywhere
            out = in_child(CLAIM, str(results.resolve()), cwd=cwd).stdout.strip()
            assert out.count("\n") == 0 and f"(pid {run.pid} on host {socket.gethostname()} from {tmp_path})" in out
            assert "is working on the study in" in out and str(results.resolve()) in out
        holder = study_lock_holder(results)
        assert holder.pid == run.pid and holder.purpose == "run" and not holder.unverifiable
    assert study_lock_holder(results) is None


def test_a_killed_run_leaves_nothing_that_stops_the_next(tmp_path):
    run = start_holder(tmp_path)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    owner = json.loads((tmp_path / ".slmbench" / "owner.json").read_text())
    assert owner["pid"] == run.pid  # left behind by the kill, but the flock went with the process
    assert study_lock_holder(tmp_path) is None
    assert in_child(CLAIM, str(tmp_path)).stdout.strip() == "won"


def test_a_run_that_ends_removes_its_owner_file_and_the_files_follow_the_umask(tmp_path):
    proc = in_child("import os, sys; os.umask(0o022)\nfrom slmbench.locks import claim_study\n"
                    "claim_study(sys.argv[1]); print('ok')", str(tmp_path))
    assert proc.stdout.strip() == "ok", proc.stderr
    assert not (tmp_path / ".slmbench" / "owner.json").exists()
    assert (tmp_path / ".slmbench" / "run.lock").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / ".slmbench").stat().st_mode & 0o777 == 0o755


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="unshare -u needs root")
def test_a_live_run_under_another_host_name_is_still_seen(tmp_path):
    with holding(tmp_path, hostname="otherboard"):
        out = in_child(CLAIM, str(tmp_path)).stdout
        assert "on host otherboard" in out and "is working on the study" in out


def test_a_run_recorded_on_another_machine_is_kept_until_the_user_unlocks(tmp_path):
    (tmp_path / ".slmbench").mkdir()
    (tmp_path / ".slmbench" / "run.lock").touch()
    (tmp_path / ".slmbench" / "owner.json").write_text(json.dumps(
        {"pid": 1, "host": "board-7", "boot_id": "another-kernel", "started_at": "2026-12-01T10:00:00+00:00"}))
    holder = study_lock_holder(tmp_path)
    assert holder.host == "board-7" and holder.unverifiable
    out = in_child(CLAIM, str(tmp_path)).stdout.strip()
    assert "board-7" in out and "cannot be checked from" in out and "--unlock" in out and "\n" not in out
    assert in_child(CLAIM, str(tmp_path), "--unlock").stdout.strip() == "won"  # the user vouches


def test_two_claims_at_once_exactly_one_wins(tmp_path):
    script = ("import sys, time; from slmbench.locks import claim_study; from slmbench.errors import UserError\n"
              "try:\n    claim_study(sys.argv[1]); print('won', flush=True); time.sleep(3)\n"
              "except UserError:\n    print('refused', flush=True)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=ENV) for _ in range(4)]
    t0 = time.monotonic()
    outcomes = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outcomes == ["refused", "refused", "refused", "won"], outcomes
    assert time.monotonic() - t0 < 60


def test_claim_and_release_in_one_process(tmp_path):
    claim_study(tmp_path, purpose="redo")
    assert "won" not in in_child(CLAIM, str(tmp_path)).stdout  # held while claimed
    release_study(tmp_path)
    assert not (tmp_path / ".slmbench" / "owner.json").exists()
    assert in_child(CLAIM, str(tmp_path)).stdout.strip() == "won"


WRITE = ("import sys\nfrom slmbench.locks import writing_into_study\nfrom slmbench.errors import UserError\n"
         "try:\n    with writing_into_study(sys.argv[1], 'judge'):\n        open(sys.argv[1], 'w').write('x')\n"
         "    print('wrote')\nexcept UserError as exc:\n    print(exc)\n")


def test_a_command_writing_into_a_held_study_is_refused_unless_it_is_a_job_of_the_run(tmp_path):
    out_file = tmp_path / "scores" / "m" / "L0" / "math.csv"
    out_file.parent.mkdir(parents=True)
    assert in_child(WRITE, str(out_file)).stdout.strip() == "wrote"  # a folder without a study: nothing to ask
    with holding(tmp_path) as run:
        assert find_study_root(out_file) == tmp_path
        refused = in_child(WRITE, str(out_file)).stdout.strip()
        assert f"pid {run.pid}" in refused and "run `slmbench judge` again" in refused
        token = json.loads((tmp_path / ".slmbench" / "owner.json").read_text())["token"]
        as_job = in_child(WRITE, str(out_file), env={**ENV, RUN_TOKEN_ENV: token})  # the run's own judge job
        assert as_job.stdout.strip() == "wrote"
    with writing_into_study(out_file, "report"):  # nobody holds it: held for the writing, then given back
        assert in_child(CLAIM, str(tmp_path)).stdout.strip() != "won"
    assert study_lock_holder(tmp_path) is None


# --- Snakemake's lock in the working directory -----------------------------------------------------------------

def snakemake_lock(workdir: Path) -> Path:
    locks = workdir / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / "0.output.lock"
    lock.write_text("/some/output\n")
    return lock


WORKDIR = ("import sys, time\nfrom slmbench.locks import claim_workdir\nprint(claim_workdir(sys.argv[1]), flush=True)\n"
           "time.sleep(float(sys.argv[2]))\n")


def test_a_killed_runs_snakemake_lock_is_removed_by_the_next_run(tmp_path):
    first = subprocess.Popen([sys.executable, "-c", WORKDIR, str(tmp_path), "600"], stdout=subprocess.PIPE,
                             text=True, env=ENV)
    assert first.stdout.readline().strip() == "None"
    lock = snakemake_lock(tmp_path)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    message = claim_workdir(tmp_path)
    assert message and "removed the lock" in message and str(first.pid) in message
    assert not lock.exists()
    owner = json.loads((tmp_path / ".snakemake" / "slmbench_owner.json").read_text())
    assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()


def test_a_live_runs_snakemake_lock_is_never_removed(tmp_path):
    """Another study run from the same directory: its Snakemake locks are its own (Snakemake decides overlap)."""
    first = subprocess.Popen([sys.executable, "-c", WORKDIR, str(tmp_path), "600"], stdout=subprocess.PIPE,
                             text=True, env=ENV)
    try:
        assert first.stdout.readline().strip() == "None"
        lock = snakemake_lock(tmp_path)
        second = in_child(WORKDIR, str(tmp_path), "0")
        assert second.returncode == 0 and second.stdout.strip() == "None"
        assert lock.exists()
    finally:
        first.kill()
        first.wait()


def test_a_snakemake_lock_from_another_machine_is_kept_until_the_user_unlocks(tmp_path):
    lock = snakemake_lock(tmp_path)
    (tmp_path / ".snakemake" / "slmbench_owner.json").write_text(
        json.dumps({"pid": 1, "host": "board-7", "started_at": "2026-12-01T10:00:00+00:00"}))
    proc = in_child("import sys\nfrom slmbench.locks import claim_workdir\nclaim_workdir(sys.argv[1])", str(tmp_path))
    assert proc.returncode != 0 and "board-7" in proc.stderr and "--unlock" in proc.stderr
    assert lock.exists()
    proc = in_child("import sys\nfrom slmbench.locks import claim_workdir\nclaim_workdir(sys.argv[1], unlocking=True)",
                    str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / ".snakemake" / "slmbench_owner.json").read_text())["host"] == socket.gethostname()


def test_the_judge_and_viewer_commands_refuse_to_write_into_a_held_study(tmp_path):
    """The commands a person runs by hand: refused in one line while a run holds the study, nothing written."""
    runs = tmp_path / "runs_llamacpp.jsonl"
    runs.write_text('{"question_id":1,"category":"math","model_id":"m","level":"L0","status":"ok","output":"4"}\n')
    questions = tmp_path / "question.jsonl"
    questions.write_text('{"question_id": 1, "category": "math", "turns": ["What is 2+2?"]}\n')
    commands = {
        "judge": ["judge", "--questions", str(questions), "--runs", str(runs), "--out",
                  str(tmp_path / "scores" / "m.csv"), "--config", str(Path(SRC).parent / "config" / "demo.yaml"),
                  "--cache", str(tmp_path / "c.sqlite")],
        "viewer": ["viewer", "--runs", str(runs), "--results-dir", str(tmp_path), "--out",
                   str(tmp_path / "index.html")],
    }
    with holding(tmp_path) as run:
        for name, args in commands.items():
            proc = subprocess.run([sys.executable, "-m", "slmbench.cli", *args], env=ENV, capture_output=True,
                                  text=True, timeout=120)
            assert proc.returncode == 2 and proc.stderr.count("\n") == 1, (name, proc.stderr)
            assert f"pid {run.pid}" in proc.stderr and f"run `slmbench {name}` again" in proc.stderr
    assert not (tmp_path / "scores").exists() and not (tmp_path / "index.html").exists()
    assert not (tmp_path / "c.sqlite").exists()
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", *commands["viewer"]], env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and (tmp_path / "index.html").exists()  # the run is gone: written
