"""One run per results directory: a live run's lock is never removed, a dead run's always is."""

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

from slmbench.errors import UserError
from slmbench.locks import claim_results_dir

SRC = str(Path(__file__).resolve().parents[1] / "src")

HOLDER = """
import sys, time
from slmbench.locks import claim_results_dir
claim_results_dir(sys.argv[1])
print("claimed", flush=True)
time.sleep(600)
"""


def start_holder(workdir: Path, hostname: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-c", HOLDER, str(workdir)]
    if hostname:  # a new UTS namespace: another host name, the same kernel (and so the same flocks)
        cmd = ["unshare", "-u", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh", *cmd]
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "claimed"
    return proc


def snakemake_lock(workdir: Path) -> Path:
    locks = workdir / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / "0.output.lock"
    lock.write_text("/some/output\n")
    return lock


def test_a_live_run_keeps_its_lock_and_a_second_run_is_refused_in_one_line(tmp_path):
    holder = start_holder(tmp_path)
    lock = snakemake_lock(tmp_path)
    try:
        with pytest.raises(UserError) as err:
            claim_results_dir(tmp_path)
        assert "still running" in str(err.value) and f"pid {holder.pid}" in str(err.value)
        assert "\n" not in str(err.value)
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_run_leaves_a_lock_the_next_run_removes(tmp_path):
    holder = start_holder(tmp_path)
    lock = snakemake_lock(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    message = claim_results_dir(tmp_path)
    assert message and "removed the lock" in message and str(holder.pid) in message
    assert not lock.exists()
    owner = json.loads((tmp_path / ".snakemake" / "slmbench_owner.json").read_text())
    assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="unshare -u needs root")
def test_a_live_run_under_another_host_name_is_still_seen(tmp_path):
    holder = start_holder(tmp_path, hostname="otherboard")
    try:
        with pytest.raises(UserError, match="still running"):
            claim_results_dir(tmp_path)
        assert json.loads((tmp_path / ".snakemake" / "slmbench_owner.json").read_text())["host"] == "otherboard"
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_from_another_host_is_kept_until_the_user_unlocks(tmp_path):
    lock = snakemake_lock(tmp_path)
    (tmp_path / ".snakemake" / "slmbench_owner.json").write_text(
        json.dumps({"pid": 1, "host": "board-7", "started_at": "2026-12-01T10:00:00+00:00"}))
    with pytest.raises(UserError) as err:
        # a fresh process: this one already holds the claim for tmp_path after the first call below
        claim_results_dir(tmp_path)
    assert "board-7" in str(err.value) and "--unlock" in str(err.value)
    assert lock.exists()
    # the user vouches for it: snakemake --unlock parses the workflow with unlocking=True
    proc = subprocess.run([sys.executable, "-c", "import sys; from slmbench.locks import claim_results_dir; "
                           "claim_results_dir(sys.argv[1], unlocking=True)", str(tmp_path)],
                          env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / ".snakemake" / "slmbench_owner.json").read_text())["host"] == socket.gethostname()


def test_two_claims_at_once_exactly_one_wins(tmp_path):
    script = ("import sys, time; from slmbench.locks import claim_results_dir; from slmbench.errors import UserError\n"
              "try:\n    claim_results_dir(sys.argv[1]); print('won', flush=True); time.sleep(3)\n"
              "except UserError:\n    print('refused', flush=True)\n")
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=env) for _ in range(4)]
    t0 = time.monotonic()
    outcomes = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outcomes == ["refused", "refused", "refused", "won"], outcomes
    assert time.monotonic() - t0 < 60
