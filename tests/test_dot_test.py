"""The workflow catalog's test config (.test/config/config.yaml): `snakemake --directory .test --lint` finds no
warning that .ci/snakemake-lint-allowed.txt does not explain, and its dry run plans the whole cut-down demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_helpers import planned_jobs

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # runs Snakemake


def snakemake(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    return subprocess.run([sys.executable, "-m", "snakemake", "--directory", ".test", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_dot_test_lints_clean(tmp_path):
    proc = snakemake("--lint")
    out = tmp_path / "lint.txt"
    out.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    assert "Lints for " in out.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")[-3000:]
    check = subprocess.run([sys.executable, str(REPO / ".ci" / "check_snakemake_lint.py"),
                            str(REPO / ".ci" / "snakemake-lint-allowed.txt"), str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_dot_test_plans_the_cut_down_demo_from_its_own_default_config():
    proc = snakemake("-n", "--cores", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["infer_shard"] == 10 and jobs["judge_shard"] == 10 and jobs["reports"] == 1, jobs
    assert not (REPO / ".test" / "results").exists()  # a dry run writes nothing
