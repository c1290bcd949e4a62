"""Run every benchmark and print one JSON object with all figures as the last line.

Each benchmark runs in its own interpreter (so one's imports and threads do not distort another) and
prints its figures as a JSON object on its last line; this script collects them and checks the goals.

    python benchmarks/run_all.py [--quick]      # --quick: reduced sizes, under 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, full-run args, quick-run args)
BENCHMARKS = [
    ("harness_decode.py", ["--rounds", "6"], ["--rounds", "2", "--max-tokens", "32"]),
    ("dryrun_study.py", ["--repeats", "3"], ["--repeats", "1"]),
    ("judge_throughput.py", [], ["--verdicts", "20", "--concurrency", "1", "4", "16"]),
    ("energy_accuracy.py", [], ["--trials", "200", "--cpu-seconds", "3"]),
    ("judge_overlap_cost.py", [], ["--seconds", "3", "--verdicts", "100"]),
    ("report_speed.py", [], ["--repeat", "1"]),
    ("pipeline_overlap.py", [], ["--quick"]),
    ("protocol_overhead.py", [], ["--quick"]),
    ("mode_contrasts.py", [], ["--smoke"]),
    ("prompt_writer_concurrency.py", [], ["--smoke"]),
]
GOALS = {  # figure: (comparison, goal)
    "harness_decode_ratio": (">=", 0.97),
    "dryrun_study_s": ("<=", 3.0),
    "dryrun_overhead_1x": ("<=", 1.2),  # project / bare Snakemake DAG of the same shape, same machine, same run
    "dryrun_overhead_10x": ("<=", 1.2),
    "dryrun_overhead_10x_midway": ("<=", 1.2),
    "judge_throughput_ratio_c4": (">=", 0.9),  # the worst of three runs
    "judge_throughput_ratio_c16": (">=", 0.9),
    "study_overhead_pct_projected": ("<=", 10.0),  # the 1600-run study on an Orin Nano
    "pipeline_overlap_ratio": ("<=", 1.05),
    "sampler_cpu_pct": ("<=", 1.0),
    "energy_err_pct_step_0.35s_100ms": ("<=", 2.0),
    "report_s": ("<=", 20.0),
    # power modes (report/modes.py), known truth: at most alpha with Monte Carlo error (200 studies: sd 0.015)
    "mode_contrasts_fwer_null": ("<=", 0.08),
    "mode_contrasts_coverage_null": (">=", 0.88),  # percentile bootstrap, 20 questions: about 0.92
    "mode_contrasts_coverage_effect": (">=", 0.88),
    "mode_contrasts_power": (">=", 0.8),
    "mode_mixed_type1_null": ("<=", 0.10),
    "writer_concurrency_ratio": ("<=", 0.25),  # 80 questions x 4 additions, concurrency 8 vs 1, same run
}


def run(script: str, args: list) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    sys.stderr.write(proc.stdout if proc.returncode == 0 else proc.stdout + proc.stderr[-3000:])
    if not lines:
        return {f"{script}_error": f"exit {proc.returncode}, no figures"}
    return json.loads(lines[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    figures: dict = {}
    for script, full, quick in BENCHMARKS:
        figures.update(run(script, quick if args.quick else full))
    figures["goals_missed"] = [
        name for name, (op, goal) in GOALS.items()
        if name not in figures or figures[name] is None
        or (figures[name] < goal if op == ">=" else figures[name] > goal)
    ]
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
