"""All reports from one analysis: the six workbooks, the plots, summary.md and the exports."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, List

from ..layout import SUMMARY_BY_LEVEL_CSV
from .analysis import analyze
from .data import load_study
from .export import write_exports
from .plots import render_figures, write_plots
from .summary import write_summary_from
from .tidy import write_summary_by_level
from .workbooks import write_workbooks

PARTS = ("workbooks", "plots", "summary", "exports")


def build_reports(runs_path, scores_path, outdir, settings=None, only: Iterable[str] = PARTS) -> List[Path]:
    """Write under outdir: <six>.xlsx, plots/<name>.png and .pdf, summary.md, summary_by_level.csv,
    exported_responses/. Returns the files."""
    outdir = Path(outdir)
    only = set(only)
    study = load_study(runs_path, scores_path, settings)
    written: List[Path] = []
    if only & {"workbooks", "plots", "summary"}:
        analysis = analyze(study)
        figures = render_figures(analysis) if only & {"workbooks", "plots"} else {}
        if "plots" in only:
            written += write_plots(analysis, outdir / "plots", figures)
        if "workbooks" in only:
            written += write_workbooks(analysis, outdir, figures)
        if "summary" in only:
            written.append(write_summary_from(analysis, outdir / "summary.md", outdir / "plots"))
            written.append(write_summary_by_level(analysis, outdir / SUMMARY_BY_LEVEL_CSV))
    if "exports" in only:
        write_exports(study, outdir / "exported_responses")
        written.append(outdir / "exported_responses")
    return written
