"""Benchmarks that cannot rot: CI runs every benchmark of benchmarks/run_all.py at its --smoke size (seconds) and
checks that it ran and printed its figures. Their values are not checked: speed and accuracy are measured by the
benchmarks themselves (run_all.py --quick, or a full run), never by a timed test.

A new benchmark needs one line in run_all.BENCHMARKS; the first test below fails until it has one."""

from __future__ import annotations

import math
import sys

import pytest

from pipeline_helpers import REPO

BENCHMARKS_DIR = REPO / "benchmarks"
sys.path.insert(0, str(BENCHMARKS_DIR))
import run_all  # noqa: E402  (benchmarks/ is not a package: its scripts run as files)

NOT_BENCHMARKS = {"run_all.py"}  # and every helper module, named _*.py


def test_every_benchmark_script_is_registered_once():
    scripts = {p.name for p in BENCHMARKS_DIR.glob("*.py") if not p.name.startswith("_")} - NOT_BENCHMARKS
    registered = [b.script for b in run_all.BENCHMARKS]
    assert sorted(registered) == sorted(set(registered)), "a benchmark is registered twice"
    assert scripts == set(registered), "register each benchmark in benchmarks/run_all.py BENCHMARKS"


def test_every_goal_names_a_figure_of_one_benchmark():
    names = [name for bench in run_all.BENCHMARKS for name in bench.goals]
    assert len(names) == len(set(names))
    assert all(op in (">=", "<=") and isinstance(goal, (int, float)) for b in run_all.BENCHMARKS
               for op, goal in b.goals.values())


@pytest.mark.slow  # each runs a model, Snakemake or a whole report (seconds to a minute each)
@pytest.mark.parametrize("bench", run_all.BENCHMARKS, ids=lambda b: b.script.removesuffix(".py"))
def test_the_smoke_size_runs_and_prints_its_figures(bench, tiny_model):  # tiny_model: assembled once, first
    figures, proc, _ = run_all.run(bench, ["--smoke"], timeout=600)
    assert proc.returncode == 0, f"{bench.script} --smoke failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert not any(name.endswith("_error") for name in figures), figures
    numbers = {k: v for k, v in figures.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    assert numbers, f"{bench.script} printed no figure: {figures}"
    for name in bench.goals:  # every figure run_all.py checks a goal against is there, as a number
        value = figures.get(name)
        assert isinstance(value, (int, float)) and not math.isnan(value), (name, figures)
