"""The session's demo study: the real workflow run once by the real Snakemake, shared by every test that only
reads a finished run, copied for each test that changes it (fixtures `demo_study`, `demo_copy` and
`demo_workdir` in conftest.py; docs/ARCHITECTURE.md "Tests, lanes and lint").

The run is config/demo.yaml reduced to 2 categories (math, coding) x 5 levels = 10 shards of one question each,
short answers, the tiny model answering and judging in-process, `--cores 2` with the default profile's quiet
console (no job banners), and a fake tegrastats first on PATH, so power.backend auto measures energy as on a
board, with the study's protocol (quiet windows: judging after inference; the warm-up generation). Everything
else is the demo's own: timing repeats, the designed run order, the idle baseline, the prompt audit, every
report, the viewer. `slmbench status` is taken once while the run judges (`status_during_judging`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, Optional

import yaml

from fake_tegrastats import install_fake_tegrastats
from pipeline_helpers import apply_changes, make_workdir, snakemake, snakemake_call
from slmbench.layout import StudyLayout

CATEGORIES = ["math", "coding"]
LEVELS = ["L0", "L1", "L2", "L3", "P"]
CHANGES = {"categories": CATEGORIES, "inference.max_tokens": 16, "judge.max_tokens": 96,
           "power.idle_per_shard_s": 1,
           # the study's measurement protocol, which the demo itself relaxes to stay within 5 minutes (it measures
           # no energy, so it judges beside inference and skips the warm-up): a sensor, quiet windows, warm-up
           "power.backend": "auto", "judge.overlap": False, "inference.warmup": True}
# the fake tegrastats' module power: rising from its start (each shard starts its own), so every run, measured after
# the shard's idle re-measurement, has a net energy above 0 (a constant would make it 0, or -0.000 J)
FAKE_BOARD_MW = {"kind": "ramp", "start_mw": 5000.0, "slope_mw_per_s": 100.0}
# Snakemake's own state that belongs to one process, never to a copy of the working directory
NOT_COPIED = ("locks", "incomplete", "shadow", "auxiliary")


@dataclass(frozen=True)
class DemoStudy:
    """A finished demo run in `work` (config/test.yaml), and how to talk to it."""

    work: Path
    config: dict
    layout: StudyLayout
    console: str  # Snakemake's stdout and stderr of the run
    status_during_judging: Optional[str] = None  # `slmbench status`, taken once while the run was judging
    env: Dict[str, str] = field(default_factory=dict)  # the run's environment changes (the fake tegrastats)

    @property
    def results(self) -> Path:
        return self.work / self.layout.results_dir

    @property
    def model(self) -> str:
        return self.config["models"][0]["id"]

    def snakemake(self, *args: str, env: dict | None = None, **kwargs):
        """pipeline_helpers.snakemake in this study, with the run's environment (a rerun measures as it did)."""
        return snakemake(self.work, *args, env={**self.env, **(env or {})}, **kwargs)


def fake_board_env(bin_dir: Path) -> dict:
    """A fake tegrastats first on PATH: power.backend auto then measures energy as on a Jetson."""
    install_fake_tegrastats(bin_dir, profile_mw=FAKE_BOARD_MW)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def build_demo_study(base: Path, models_dir: Path) -> DemoStudy:
    """Run the demo study in `base`/work (the fake tegrastats in `base`/bin), taking `slmbench status` once while
    it judges (every shard written, not every score: judging follows inference in quiet windows); the console is
    kept in `base`/console.txt, written last: a folder with one holds a finished study."""
    env = fake_board_env(base / "bin")
    work = make_workdir(base, models_dir, **CHANGES)
    config = yaml.safe_load((work / "config" / "test.yaml").read_text(encoding="utf-8"))
    lay, model = StudyLayout.from_config(config), config["models"][0]["id"]
    shards = [work / lay.shard(model, lvl, c) for lvl in LEVELS for c in CATEGORIES]
    scores = [work / lay.scores(model, lvl, c) for lvl in LEVELS for c in CATEGORIES]
    cmd, run_env = snakemake_call(work, "--cores", "2", "--quiet", "rules", "host", env=env)  # as the profile
    status_cmd = [sys.executable, "-m", "slmbench.cli", "status", "--configfile", "config/test.yaml"]
    during = None
    with open(base / "console.raw", "w", encoding="utf-8") as out:
        run = subprocess.Popen(cmd, cwd=work, env=run_env, stdout=out, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 1500
        while run.poll() is None and time.monotonic() < deadline:
            if during is None and all(p.exists() for p in shards) and not all(p.exists() for p in scores):
                during = subprocess.run(status_cmd, cwd=work, env=run_env, capture_output=True, text=True,
                                        timeout=300).stdout
            time.sleep(0.2)
        code = run.wait(timeout=60)
    console = (base / "console.raw").read_text(encoding="utf-8")
    if code != 0:
        raise AssertionError(f"the demo study failed ({code}):\n{console[-8000:]}")
    if during is not None:
        (base / "status_during_judging.txt").write_text(during, encoding="utf-8")
    part = base / "console.txt.part"
    part.write_text(console, encoding="utf-8")
    os.replace(part, base / "console.txt")
    return open_demo_study(base)


def open_demo_study(base: Path) -> DemoStudy:
    """The finished study build_demo_study left in `base`."""
    work = base / "work"
    config = yaml.safe_load((work / "config" / "test.yaml").read_text(encoding="utf-8"))
    env = {"PATH": f"{base / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    console = (base / "console.txt").read_text(encoding="utf-8")
    during = base / "status_during_judging.txt"
    return DemoStudy(work, config, StudyLayout.from_config(config), console, env=env,
                     status_during_judging=during.read_text(encoding="utf-8") if during.exists() else None)


def shared_demo_study(folder: Path, models_dir: Path) -> DemoStudy:
    """The study in `folder`, built by the first process that asks (pytest-xdist's workers are sessions of their
    own; the others wait on the lock, then open it). A build that failed is tried again, in a new folder."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        finished = sorted(p.parent for p in folder.glob("run*/console.txt"))
        if finished:
            return open_demo_study(finished[0])
        return build_demo_study(folder / f"run{len(list(folder.glob('run*')))}", models_dir)


def copy_study(study: DemoStudy, dest: Path) -> DemoStudy:
    """A private copy: every file with its modification time, and Snakemake's metadata, so the copy is as up to
    date as the original (`snakemake -n` plans nothing) and a change to it plans exactly what it would there."""

    def ignore(folder, names):
        return [n for n in names if n in NOT_COPIED] if Path(folder).name == ".snakemake" else []

    shutil.copytree(study.work, dest, symlinks=True, ignore=ignore)
    return replace(study, work=dest)


# what a fresh run keeps of the study: the steps before the shards (under the results, its logs and benchmarks)
BEFORE_SHARDS = ("prompts", "models", "power")


def _keep_only(folder: Path, names) -> None:
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.name not in names:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def fresh_run_dir(study: DemoStudy, dest: Path, **changes) -> DemoStudy:
    """A copy of the study with nothing made from the shards on (shards, scores, merged files, reports, the judge
    cache, their logs), `changes` (dotted keys, as make_workdir's) applied to its config: a fresh run that starts at
    the inference shards, the prompts, model checks and idle baseline already made (the fault tests' set-up)."""
    copy = copy_study(study, dest)
    results = copy.results
    for folder in ("logs", "benchmarks"):
        _keep_only(results / folder, BEFORE_SHARDS)
    _keep_only(results, BEFORE_SHARDS + ("logs", "benchmarks"))
    config = apply_changes(yaml.safe_load((copy.work / "config" / "test.yaml").read_text(encoding="utf-8")), changes)
    (copy.work / "config" / "test.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return replace(copy, config=config, layout=StudyLayout.from_config(config), console="")


def manifest(study: DemoStudy) -> dict:
    """{path: (size, mtime)} of every file of the results: what a read-only test must leave as it found it."""
    return {str(p.relative_to(study.work)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(study.results.rglob("*")) if p.is_file()}
