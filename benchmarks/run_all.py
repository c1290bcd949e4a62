"""Run every benchmark and print every figure with its goal beside it; the last line is one JSON object of them all.

Each benchmark runs in its own interpreter (so one's imports and threads do not distort another) and prints its
figures as a JSON object on its last line; this script collects them and checks the goals.

    python benchmarks/run_all.py [--quick | --smoke] [--only NAME ...]
      --quick: reduced sizes, about 5 minutes on 2 idle cores (each benchmark's wall and CPU time is printed)
      --smoke: each benchmark's seconds-long CI size (tests/test_benchmarks.py): the figures mean nothing

A new benchmark is one line in BENCHMARKS: its script (which must take --smoke, see sizes.py), its --quick and
full arguments, and the goals of its figures; the smoke test in CI then runs it and checks it prints them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    script: str
    quick: tuple = ()  # arguments of run_all --quick
    full: tuple = ()  # arguments of a full run
    goals: dict = field(default_factory=dict)  # figure: (">=" or "<=", goal); each must be among its figures


BENCHMARKS = [
    Benchmark("harness_decode.py", ("--rounds", "2", "--max-tokens", "32"), ("--rounds", "6"),
              {"harness_decode_ratio": (">=", 0.97)}),
    # project / bare Snakemake DAG of the same shape, same machine, same run
    Benchmark("dryrun_study.py", ("--repeats", "1"), ("--repeats", "3"),
              {"dryrun_study_s": ("<=", 3.0), "dryrun_overhead_1x": ("<=", 1.2), "dryrun_overhead_10x": ("<=", 1.2),
               "dryrun_overhead_10x_midway": ("<=", 1.2)}),
    Benchmark("judge_throughput.py", ("--verdicts", "20", "--concurrency", "1", "4", "16"), (),
              {"judge_throughput_ratio_c4": (">=", 0.9), "judge_throughput_ratio_c16": (">=", 0.9)}),  # worst of 3
    Benchmark("energy_accuracy.py", ("--trials", "200", "--cpu-seconds", "3"), (),
              {"sampler_cpu_pct": ("<=", 1.0), "energy_err_pct_step_0.35s_100ms": ("<=", 2.0)}),
    # a fake tegrastats 40 ms late on every line: the calibrated lag, and 0.35 s step windows with and without it
    Benchmark("sensor_lag.py", ("--windows", "8"), (),
              {"sensor_lag_err_ms": ("<=", 10.0), "sensor_lag_step_err_pct_corrected": ("<=", 2.0)}),
    Benchmark("judge_overlap_cost.py", ("--seconds", "3", "--verdicts", "100"), (), {}),
    Benchmark("report_speed.py", ("--repeat", "1"), (), {"report_s": ("<=", 15.0)}),
    Benchmark("pipeline_overlap.py", ("--quick",), (), {"pipeline_overlap_ratio": ("<=", 1.05)}),
    # the 1600-run study on an Orin Nano
    Benchmark("protocol_overhead.py", ("--quick",), (), {"study_overhead_pct_projected": ("<=", 10.0)}),
    # 80 questions x 4 additions, concurrency 8 vs 1, same run
    Benchmark("prompt_writer_concurrency.py", ("--smoke",), (), {"writer_concurrency_ratio": ("<=", 0.25)}),
    # power modes (report/modes.py), known truth: at most alpha with Monte Carlo error (200 studies: sd 0.015);
    # a percentile bootstrap over 20 questions covers about 0.92
    Benchmark("mode_contrasts.py", ("--studies", "100", "--mixed-studies", "20"), (),
              {"mode_contrasts_fwer_null": ("<=", 0.08), "mode_contrasts_coverage_null": (">=", 0.88),
               "mode_contrasts_coverage_effect": (">=", 0.88), "mode_contrasts_power": (">=", 0.8),
               "mode_mixed_type1_null": ("<=", 0.10)}),
    # slmbench plan (report/plan.py) against studies with a known effect through the report's own contrasts
    # (issue 25: within 5 points at 80 questions; the printed MDE gives 78-82 % power)
    Benchmark("plan_power.py", ("--studies", "150", "--mde-studies", "100", "--t-studies", "5000"), (),
              {"plan_power_gap_pts": ("<=", 5.0), "plan_mde_power_gap_pts": ("<=", 6.0),
               "plan_mde_power_t_error_pts": ("<=", 2.0), "contrast_mde_power_t_error_pts": ("<=", 2.0)}),
    # issue 25's acceptance: known-truth studies through the report functions (200 per scenario, 40 questions);
    # coverage goals are 93-97 %, so the gap from 95 % is at most 0.02
    Benchmark("study_design_sim.py", ("--studies", "60"), (),
              {"study_design_mean_coverage_gap": ("<=", 0.02), "study_design_contrast_coverage_gap": ("<=", 0.02),
               "study_design_fwer_null": ("<=", 0.05), "study_design_best_set_contains_best_null": (">=", 0.90),
               "study_design_single_winner_null": ("<=", 0.10),
               "study_design_energy_contrast_coverage": (">=", 0.92)}),
]


def goals(benchmarks=None) -> dict:
    return {name: goal for bench in benchmarks or BENCHMARKS for name, goal in bench.goals.items()}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(bench: Benchmark, args, timeout: float | None = None) -> tuple[dict, subprocess.CompletedProcess, dict]:
    """(figures, the finished process, its cost {"wall_s", "cpu_s"}); figures are {"<script>_error": why} when the
    last line of its output is not a JSON object."""
    wall, cpu = time.perf_counter(), _children_cpu_s()
    proc = subprocess.run([sys.executable, str(HERE / bench.script), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    cost = {"wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(_children_cpu_s() - cpu, 1)}
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        figures = json.loads(lines[-1]) if lines else None
    except ValueError:
        figures = None
    if not isinstance(figures, dict):
        figures = {f"{bench.script}_error": f"exit {proc.returncode}, no JSON object on its last line"}
    return figures, proc, cost


def missed(figures: dict, benchmarks=None) -> list:
    """The goals (of these benchmarks) whose figure is absent, not a number, or on the wrong side of its goal."""
    out = []
    for name, (op, goal) in goals(benchmarks).items():
        value = figures.get(name)
        if not isinstance(value, (int, float)) or math.isnan(value) or (value < goal if op == ">=" else value > goal):
            out.append(name)
    return out


def print_table(figures: dict, costs: dict, benchmarks) -> None:
    known = goals(benchmarks)
    failed = missed(figures, benchmarks)
    width = max(len(name) for name in figures)
    print(f"\n{'figure':<{width}}  {'value':>12}  goal")
    for name, value in figures.items():
        goal = known.get(name)
        mark = "" if goal is None else ("MISSED" if name in failed else "met")
        shown = value if not isinstance(value, float) else f"{value:.4g}"
        print(f"{name:<{width}}  {shown!s:>12}  {'' if goal is None else f'{goal[0]} {goal[1]:g}':<8} {mark}")
    for name in known:
        if name not in figures:
            print(f"{name:<{width}}  {'(absent)':>12}  {known[name][0]} {known[name][1]:g}  MISSED")
    total_wall = sum(c["wall_s"] for c in costs.values())
    total_cpu = sum(c["cpu_s"] for c in costs.values())
    print("\nbenchmark cost: " + ", ".join(f"{k} {c['wall_s']:.0f} s wall / {c['cpu_s']:.0f} s CPU"
                                          for k, c in costs.items()))
    print(f"total: {total_wall:.0f} s wall, {total_cpu:.0f} s CPU")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="SCRIPT", help="run only these benchmarks (e.g. report_speed)")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or Path(b.script).stem in args.only or b.script in args.only]
    figures: dict = {}
    costs: dict = {}
    for bench in chosen:
        print(f"--- {bench.script}", file=sys.stderr, flush=True)
        size_args = ("--smoke",) if args.smoke else bench.quick if args.quick else bench.full
        found, proc, costs[Path(bench.script).stem] = run(bench, size_args)
        sys.stderr.write(proc.stdout if proc.returncode == 0 else proc.stdout + proc.stderr[-3000:])
        figures.update(found)
    print_table(figures, costs, chosen)
    figures["goals_missed"] = missed(figures, chosen)
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
