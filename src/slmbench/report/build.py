"""All reports from one analysis: the six workbooks, the plots, summary.md and the exports.

On two or more CPUs the build uses one helper process (`workers=2`, the default where two CPUs are free): it
fits the mixed models while this process runs the rest of the analysis, then renders every other figure and
writes the exports while this process renders the others and writes the workbooks. The helper is a fork of this
process (concurrent.futures with the "fork" start method): it needs no import of the caller's main script, which
a Snakemake `script:` job or `python -c` does not have in a form a new interpreter could import. What each part
computes does not depend on where it runs, so the files are the same with one process or two.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, List, Optional

from ..layout import PLOTS, SUMMARY_BY_LEVEL_CSV
from .analysis import analyze
from .data import load_study
from .export import write_exports
from .plots import render_figure, write_plots
from .summary import write_summary_from
from .tidy import write_summary_by_level
from .workbooks import write_workbooks

PARTS = ("workbooks", "plots", "summary", "exports")


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (a Snakemake job, a cgroup), not the machine
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class InProcess:
    """The executor's `submit` run at once in this process: the one-CPU build, the same calls as with a helper."""

    def submit(self, fn, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever asks for the result, as a process pool would
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def helper(workers: int):
    """A one-process pool for `workers` >= 2 where fork exists, else InProcess."""
    if workers >= 2 and "fork" in multiprocessing.get_all_start_methods():
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    return InProcess()


def build_reports(runs_path, scores_path, outdir, settings=None, only: Iterable[str] = PARTS,
                  workers: Optional[int] = None) -> List[Path]:
    """Write under outdir: <six>.xlsx, plots/<name>.png and .pdf, summary.md, summary_by_level.csv,
    exported_responses/. Returns the files. `workers`: processes to use (default: 2 where two CPUs are free)."""
    outdir = Path(outdir)
    only = set(only)
    study = load_study(runs_path, scores_path, settings)
    written: List[Path] = []
    pool = helper(min(2, available_cpus()) if workers is None else workers)
    try:
        exports = None
        if only & {"workbooks", "plots", "summary"}:
            analysis = analyze(study, background=pool)
            figures = {}
            if only & {"workbooks", "plots"}:
                theirs = {name: pool.submit(render_figure, analysis, name) for name in PLOTS[1::2]}
                if "exports" in only:  # the helper's next job, while this process goes on
                    exports = pool.submit(write_exports, study, outdir / "exported_responses")
                mine = {name: render_figure(analysis, name) for name in PLOTS if name not in theirs}
                drawn = {name: mine[name] if name in mine else theirs[name].result() for name in PLOTS}
                figures = {name: encoded for name, encoded in drawn.items() if encoded is not None}  # None: no data
            if "plots" in only:
                written += write_plots(analysis, outdir / "plots", figures)
            if "workbooks" in only:
                written += write_workbooks(analysis, outdir, figures)
            if "summary" in only:
                written.append(write_summary_from(analysis, outdir / "summary.md", outdir / "plots"))
                written.append(write_summary_by_level(analysis, outdir / SUMMARY_BY_LEVEL_CSV))
        if "exports" in only:
            if exports is None:
                write_exports(study, outdir / "exported_responses")
            else:
                exports.result()
            written.append(outdir / "exported_responses")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return written
