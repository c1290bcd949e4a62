"""One study, one owner (issue 27), with real Snakemake runs of the tiny demo on one absolute results directory:
a second `snakemake` from another working directory is refused in one line naming the first, `slmbench redo` from
a third directory is refused and deletes nothing, and `redo` matching nothing exits non-zero. The same run, made
under umask 022, leaves no file under the results directory that only its owner can read."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_helpers import REPO, make_workdir, wait_for

pytestmark = pytest.mark.slow


def snakemake_cmd(work: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
            "--configfile", "config/test.yaml", "--cores", "2", *args]


def env() -> dict:
    run_env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    run_env.pop("SLMBENCH_RUN_TOKEN", None)
    return run_env


def files_under(root: Path) -> set[str]:
    """The finished files of a study (a job's temporary .part files come and go)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".part" not in p.name}


def slmbench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *args], cwd=cwd, env=env(), capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def contested_run(tmp_path_factory, tiny_model):
    """Run A (umask 022) on an absolute results directory; while it measures: run B from another working
    directory, and `slmbench redo` from a third. Returns what each did."""
    base = tmp_path_factory.mktemp("one_owner")
    results = base / "shared_results"  # absolute: both runs name the same study
    work_a = make_workdir(base / "a", tiny_model.parent, categories=["math"], results_dir=str(results),
                          **{"inference.max_tokens": 16, "judge.max_tokens": 96, "prompts.csv_dir": str(results / "p"),
                             "prompts.spreadsheet": str(results / "p/generated_prompts.xlsx"),
                             "judge.cache": str(results / "judge_cache.sqlite")})
    work_b = base / "b" / "work"
    shutil.copytree(work_a / "config", work_b / "config")
    third = base / "c"
    third.mkdir()
    config_b = str(work_b / "config" / "test.yaml")

    run_a = subprocess.Popen(snakemake_cmd(work_a), cwd=work_a, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.umask(0o022))
    try:
        shards = results / "shards" / "gemma3-270m"
        assert wait_for(lambda: any(shards.glob("*/math.jsonl")) or run_a.poll() is not None, timeout=900)
        assert run_a.poll() is None, "run A ended before its first shard was measured"
        before = files_under(results)
        run_b = subprocess.run(snakemake_cmd(work_b), cwd=work_b, env=env(), capture_output=True, text=True,
                               timeout=600)
        redo = slmbench("redo", "--model", "gemma3-270m", "--configfile", config_b, cwd=third)
        status = slmbench("status", "--configfile", config_b, cwd=third)
        a_was_running = run_a.poll() is None
        after = files_under(results)
        out_a, err_a = run_a.communicate(timeout=1800)
    finally:
        if run_a.poll() is None:
            run_a.kill()
            run_a.wait()
    return {"results": results, "run_a": run_a, "err_a": err_a + out_a, "run_b": run_b, "redo": redo,
            "status": status, "a_was_running": a_was_running, "before": before, "after": after,
            "config_b": config_b, "third": third}


def test_exactly_one_run_works_and_the_other_is_one_line_naming_it(contested_run):
    run, b = contested_run["run_a"], contested_run["run_b"]
    assert run.returncode == 0, contested_run["err_a"][-4000:]
    assert b.returncode != 0
    ours = [line for line in b.stderr.splitlines() if line.startswith("slmbench:")]
    assert len(ours) == 1 and ours[0].startswith("slmbench: error: the run started "), b.stderr[-3000:]
    assert f"(pid {run.pid} on host " in ours[0] and "is working on the study in" in ours[0]
    assert str(contested_run["results"]) in ours[0]
    assert "Traceback" not in b.stderr and "Building DAG" not in b.stdout + b.stderr  # refused before planning
    assert contested_run["a_was_running"]  # B and redo were refused while A was measuring, not after it


def test_redo_from_another_directory_during_the_run_is_refused_and_deletes_nothing(contested_run):
    redo = contested_run["redo"]
    assert redo.returncode == 2 and redo.stderr.count("\n") == 1, redo.stderr
    assert f"pid {contested_run['run_a'].pid}" in redo.stderr and "is working on the study" in redo.stderr
    assert contested_run["before"] <= contested_run["after"]  # every file there before is still there
    assert any(f.startswith("shards/") for f in contested_run["before"])


def test_status_from_another_directory_names_the_run(contested_run):
    status = contested_run["status"]
    assert status.returncode == 0, status.stderr
    assert "held by the run started " in status.stdout and f"(pid {contested_run['run_a'].pid} " in status.stdout


def test_redo_matching_nothing_exits_non_zero_naming_the_path(contested_run):
    config = yaml.safe_load(Path(contested_run["config_b"]).read_text())
    elsewhere = contested_run["third"] / "relative.yaml"
    config["results_dir"] = "results/nowhere"  # relative: nothing is there from this directory
    elsewhere.write_text(yaml.safe_dump(config, sort_keys=False))
    redo = slmbench("redo", "--errors", "--configfile", str(elsewhere), cwd=contested_run["third"])
    assert redo.returncode == 2
    assert f"nothing found at {contested_run['third'] / 'results/nowhere'}" in redo.stderr, redo.stderr


def test_after_a_run_under_umask_022_no_file_is_private(contested_run):
    results = contested_run["results"]
    assert (results / "index.html").exists() and (results / "model_comparison.xlsx").exists()
    private = []
    for path in [results, *results.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o044 != 0o044:  # group and others cannot read it
            private.append(f"{path.relative_to(results)} {mode:o}")
    assert private == []
