"""A real process holding a study's lock (as a running Snakemake does), for the lock, redo and status tests."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

HOLDER = """
import sys, time
from slmbench.locks import claim_study
claim_study(sys.argv[1])
print("claimed", flush=True)
time.sleep(600)
"""


def start_holder(results_dir, hostname: str | None = None, cwd=None) -> subprocess.Popen:
    """A process that claims the study in `results_dir` and sleeps; under another host name (a new UTS namespace:
    the same kernel, so the same flocks) when `hostname` is given."""
    cmd = [sys.executable, "-c", HOLDER, str(results_dir)]
    if hostname:
        cmd = ["unshare", "-u", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh", *cmd]
    env = {**os.environ, "PYTHONPATH": SRC}
    env.pop("SLMBENCH_RUN_TOKEN", None)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
    assert proc.stdout.readline().strip() == "claimed"
    return proc


@contextmanager
def holding(results_dir, **kwargs):
    proc = start_holder(results_dir, **kwargs)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()
