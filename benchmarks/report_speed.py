"""How long do all the reports of a 1600-run study take? (goal: <= 20 s on 2 cores)

A synthetic study like the reference one (4 models x 5 levels x 80 questions in 8 categories, energy measured,
every answer scored) is written to a temporary directory; then, in this fresh process, each stage is timed:
imports, loading and joining, the statistics (2000 bootstrap resamples), the five plots, the six workbooks,
summary.md, the exports (1600 text files) and validation. Each stage is what `slmbench report` and the
workflow's rules run.

Run: python benchmarks/report_speed.py [--repeat N] [--bootstrap B]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

LEVELS = ["L0", "L1", "L2", "L3", "P"]


def timed(label: str, results: dict, fn):
    start = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - start
    return value


def one_build(runs, scores, outdir: Path, bootstrap: int) -> dict:
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


def fresh_process(runs, scores, outdir: Path, bootstrap: int) -> float:
    code = ("import sys; from slmbench.report.build import build_reports; "
            "build_reports(sys.argv[1], sys.argv[2], sys.argv[3], {'levels': %r, 'bootstrap_samples': %d})"
            % (LEVELS, bootstrap))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(runs), str(scores), str(outdir)], check=True, env=env)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="builds to time (the first pays the imports)")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (config report.*)")
    args = parser.parse_args(argv)
    from slmbench.report.synthetic import write_synthetic_study

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = ("qwen1.5-1.8b", "gemma-2-2b", "phi-3.5-mini", "qwen3-4b")
        runs, scores, rows, _ = write_synthetic_study(tmp / "in", models=models)
        print(f"synthetic study: {len(rows)} runs, {os.cpu_count()} CPUs visible, bootstrap {args.bootstrap}")
        builds = [one_build(runs, scores, tmp / f"out{i}", args.bootstrap) for i in range(args.repeat)]
        fresh = fresh_process(runs, scores, tmp / "fresh", args.bootstrap)
    width = max(len(k) for k in builds[0])
    print(f"{'stage':<{width}}  " + "  ".join(f"build {i + 1:>2}" for i in range(len(builds))))
    for stage in builds[0]:
        print(f"{stage:<{width}}  " + "  ".join(f"{b[stage]:7.2f} s" for b in builds))
    totals = [sum(b.values()) for b in builds]
    print(f"{'total':<{width}}  " + "  ".join(f"{t:7.2f} s" for t in totals))
    print(f"one fresh interpreter building everything (what `slmbench report` does, imports included): {fresh:.2f} s")
    goal = 20.0
    print(f"goal <= {goal:.0f} s for all reports: {'met' if max(totals) <= goal else 'MISSED'} "
          f"(slowest build {max(totals):.2f} s)")
    print(json.dumps({"report_s": round(fresh, 3), "report_build_s": round(max(totals), 3)}))  # for run_all.py
    return 0 if max(totals + [fresh]) <= goal else 1


if __name__ == "__main__":
    sys.exit(main())
