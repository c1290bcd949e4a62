"""results/summary_by_level.csv: one tidy row per (model, level, metric) with mean, CI and n, for papers and
for other tools (R, a spreadsheet) that want the numbers without the workbook."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ..records import atomic_output
from .analysis import Analysis
from .data import DIMENSIONS

TIDY_COLUMNS = ["model", "level", "metric", "mean", "ci_low", "ci_high", "n"]
# metric -> has a bootstrap CI in the summary table
TIDY_METRICS = {"quality": True, **{d: True for d in DIMENSIONS}, "latency_ms": True, "energy_j": True,
                "quality_per_joule": True, "quality_per_second": True, "ttft_ms": False, "decode_tok_s": False,
                "prompt_tokens": False, "completion_tokens": False, "reference_match": False}


def summary_by_level(analysis: Analysis) -> pd.DataFrame:
    rows = []
    for r in analysis.summary.to_dict("records"):
        for metric, has_ci in TIDY_METRICS.items():
            rows.append({"model": r["model"], "level": r["level"], "metric": metric, "mean": r.get(metric),
                         "ci_low": r.get(f"{metric}_low") if has_ci else None,
                         "ci_high": r.get(f"{metric}_high") if has_ci else None,
                         "n": r.get(f"{metric}_n", r["n"])})  # reference_match: the answers with a reference
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def write_summary_by_level(analysis: Analysis, path) -> Path:
    """Missing values are empty cells, never 0."""
    table = summary_by_level(analysis)
    with atomic_output(path, "w", encoding="utf-8") as fh:
        table.to_csv(fh, index=False, na_rep="", float_format="%.6g", quoting=csv.QUOTE_MINIMAL,
                     lineterminator="\n")
    return Path(path)
