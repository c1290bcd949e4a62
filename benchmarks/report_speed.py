"""How long do all the reports of a 1600-run study take? (goal: report_s <= 15 s on 2 cores)

A synthetic study like the reference one (4 models x 5 levels x 80 questions in 8 categories, energy measured,
every answer scored) is written to a temporary directory. Then, side by side in this run:
- report_s: one fresh interpreter building every report, imports included, as `slmbench report` and the
  workflow's reports rule do (slmbench.report.build_reports: the analysis with 2000 bootstrap resamples and the
  mixed models, the plots, the six workbooks, summary.md, the exports of 1600 text files);
- report_pandas_reference_s: one fresh interpreter reading the same two files with plain pandas (read_json,
  read_csv), joining them and printing the per (model, level) means of quality, energy and latency: the floor
  of any report of these files on this machine, so report_vs_pandas_x = report_s / reference says how far
  above that floor the reports are, whatever the machine's load;
- the stages of --repeat builds in this process (wall and CPU seconds each; the first build pays the imports),
  validation included.

Run: python benchmarks/report_speed.py [--repeat N] [--bootstrap B] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sizes import parse_sizes

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

LEVELS = ["L0", "L1", "L2", "L3", "P"]
MODELS = ("qwen1.5-1.8b", "gemma-2-2b", "phi-3.5-mini", "qwen3-4b")
GOAL_S = 15.0

# The reference: what a person would type to get the headline means from the same files.
PANDAS_REFERENCE = """
import sys
import pandas as pd
runs = pd.read_json(sys.argv[1], lines=True)
scores = pd.read_csv(sys.argv[2])
joined = runs[runs["repeat"] == 0].merge(scores, on=["model_id", "level", "question_id", "variant"], how="left")
print(joined.groupby(["model_id", "level"])[["total_score", "energy_j", "latency_ms"]].mean().to_string())
"""


def timed(label: str, results: dict, fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    results[label] = (time.perf_counter() - wall, time.process_time() - cpu)
    return value


def one_build(runs, scores, outdir: Path, bootstrap: int) -> dict:
    """{stage: (wall s, CPU s)} of one build of every report in this process."""
    results: dict = {}
    # imports count: a rule or the CLI pays them in a fresh interpreter (only the first build really pays)
    timed("imports", results, lambda: __import__("slmbench.report.build", fromlist=["build_reports"]))
    from slmbench.report.analysis import analyze
    from slmbench.report.data import load_study
    from slmbench.report.export import write_exports
    from slmbench.report.plots import render_figures, write_plots
    from slmbench.report.summary import write_summary_from
    from slmbench.report.validate import validate_results
    from slmbench.report.workbooks import write_workbooks

    settings = {"levels": LEVELS, "bootstrap_samples": bootstrap, "demo_note": None}
    study = timed("load + join", results, lambda: load_study(runs, scores, settings))
    analysis = timed("statistics", results, lambda: analyze(study))
    figures = timed("plots (render)", results, lambda: render_figures(analysis))
    timed("plots (write)", results, lambda: write_plots(analysis, outdir / "plots", figures))
    timed("six workbooks", results, lambda: write_workbooks(analysis, outdir, figures))
    timed("summary.md", results, lambda: write_summary_from(analysis, outdir / "summary.md", outdir / "plots"))
    timed("exports", results, lambda: write_exports(study, outdir / "exported_responses"))
    expected = {"models": study.models, "levels": LEVELS, "categories": study.categories, "question_ids": None}
    timed("validation", results, lambda: validate_results(runs, scores, expected, outdir / "validation.txt"))
    return results


def fresh_process(args: list) -> tuple:
    """(wall s, CPU s) of one `python -c ...` run to its end."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", *map(str, args)], check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def build_command(runs, scores, outdir: Path, bootstrap: int) -> list:
    code = ("import sys; from slmbench.report.build import build_reports; "
            "build_reports(sys.argv[1], sys.argv[2], sys.argv[3], {'levels': %r, 'bootstrap_samples': %d})"
            % (LEVELS, bootstrap))
    return [code, runs, scores, outdir]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="builds to time in this process (the first pays "
                                                              "the imports)")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (config report.*)")
    parser.add_argument("--models", type=int, default=len(MODELS), help="models of the synthetic study")
    parser.add_argument("--per-category", type=int, default=10, help="questions per category (8 categories)")
    args = parse_sizes(parser, argv, smoke={"repeat": 0, "bootstrap": 100, "models": 2, "per_category": 1})
    from slmbench.report.synthetic import write_synthetic_study

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs, scores, rows, _ = write_synthetic_study(tmp / "in", models=MODELS[:args.models],
                                                      per_category=args.per_category)
        print(f"synthetic study: {len(rows)} runs, {os.cpu_count()} CPUs visible, bootstrap {args.bootstrap}, "
              f"load average {os.getloadavg()[0]:.1f}")
        # the reference and the fresh build side by side, twice each, alternating (the machine's load hits both)
        reference, fresh = [], []
        for _ in range(1 if args.smoke else 2):
            reference.append(fresh_process([PANDAS_REFERENCE, runs, scores]))
            fresh.append(fresh_process(build_command(runs, scores, tmp / "fresh", args.bootstrap)))
        builds = [one_build(runs, scores, tmp / f"out{i}", args.bootstrap) for i in range(args.repeat)]
    totals = [(sum(w for w, _ in b.values()), sum(c for _, c in b.values())) for b in builds] or [(None, None)]
    if builds:  # --repeat 0 (the smoke size): only the fresh build
        width = max(len(k) for k in builds[0])
        print(f"{'stage':<{width}}  " + "  ".join(f"build {i + 1:>2} (wall / CPU)" for i in range(len(builds))))
        for stage in builds[0]:
            print(f"{stage:<{width}}  " + "  ".join(f"{b[stage][0]:7.2f} s / {b[stage][1]:6.2f} s" for b in builds))
        print(f"{'total':<{width}}  " + "  ".join(f"{w:7.2f} s / {c:6.2f} s" for w, c in totals))
    report_wall, report_cpu = min(fresh)
    ref_wall, ref_cpu = min(reference)
    print(f"one fresh interpreter building everything (what `slmbench report` does, imports included): "
          f"{report_wall:.2f} s wall, {report_cpu:.2f} s CPU")
    print(f"plain pandas reference (read, join, groupby means) in a fresh interpreter: {ref_wall:.2f} s wall, "
          f"{ref_cpu:.2f} s CPU; reports / reference = {report_wall / ref_wall:.1f}x")
    print(f"goal report_s <= {GOAL_S:.0f} s: {'met' if report_wall <= GOAL_S else 'MISSED'}")
    print(json.dumps({  # for run_all.py
        "report_s": round(report_wall, 3), "report_cpu_s": round(report_cpu, 3),
        "report_pandas_reference_s": round(ref_wall, 3), "report_vs_pandas_x": round(report_wall / ref_wall, 2),
        **({"report_build_s": round(max(w for w, _ in totals), 3),
            "report_build_cpu_s": round(max(c for _, c in totals), 3)} if builds else {}),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }))
    return 0 if report_wall <= GOAL_S or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
