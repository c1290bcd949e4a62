"""Helpers shared by the report tests (no tests here): synthetic studies, reading sheets back, the CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import openpyxl
import pandas as pd

from slmbench.cli import run
from slmbench.report.build import build_reports
from slmbench.report.synthetic import write_synthetic_study

LEVELS = ["L0", "L1", "L2", "L3", "P"]
NOTE = "Synthetic scores for the tests: they mean nothing."


def make_study(tmp: Path, build: bool = True, settings: dict | None = None, **synthetic) -> dict:
    """A synthetic study under tmp/in and (build=True) every report under tmp/out."""
    runs, scores, run_rows, score_rows = write_synthetic_study(tmp / "in", **synthetic)
    study = {"runs": runs, "scores": scores, "run_rows": run_rows, "score_rows": score_rows, "out": tmp / "out"}
    if build:
        build_reports(runs, scores, study["out"], {"levels": LEVELS, "demo_note": NOTE, **(settings or {})})
    return study


def sheet_rows(path: Path, sheet: str, header_row: int = 1) -> list[dict]:
    """The first table of a sheet as dicts keyed by its header (stops at the first empty row)."""
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    rows = ws.iter_rows(min_row=header_row, values_only=True)
    header = next(rows)
    out = []
    for row in rows:
        if all(v is None for v in row):
            break
        out.append(dict(zip(header, row)))
    return out


def direct_frame(runs_path: Path, scores_path: Path) -> pd.DataFrame:
    """Runs joined with scores the plain pandas way, to check the workbooks against."""
    runs = pd.read_json(runs_path, lines=True, dtype=False)
    scores = pd.read_csv(scores_path)
    key = ["model_id", "level", "question_id"]
    keep = key + ["factuality", "helpfulness", "structure", "conciseness", "total_score", "judge_status"]
    return runs.merge(scores[keep], on=key, how="left")


def cli(argv: list[str]) -> int:
    """`slmbench report ...` through the real error handling of slmbench.cli (one line, exit status 2)."""
    from slmbench.report.cli import register

    parser = argparse.ArgumentParser(prog="slmbench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args.func, args)


def write_json_lines(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
