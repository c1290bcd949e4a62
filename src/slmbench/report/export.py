"""Exports for reading answers: all_responses.csv (Excel-ready), one text file per answer, summary_report.txt."""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Optional

import pandas as pd

from ..csv_text import excel_safe
from ..layout import EXPORT_CSV, EXPORT_RESPONSES_DIR, EXPORT_SUMMARY
from ..records import atomic_output, umask_mode
from .data import DIMENSIONS, Study, load_study
from .dataquality import energy_reason

CSV_COLUMNS = [
    "question_id", "variant", "model_id", "category", "level", "status", "prompt_tokens", "completion_tokens",
    "latency_ms", "ttft_ms", "decode_tok_s", "energy_j", "energy_missing_reason", *DIMENSIONS, "total_score",
    "judge_status", "reason", "prompt", "output", "error",
]
TEXT_COLUMNS = {"model_id", "category", "level", "status", "energy_missing_reason", "judge_status", "reason",
                "prompt", "output", "error"}
RULE = "=" * 80
THIN = "-" * 80
PARTS = ("csv", "txt", "summary")


def safe_name(name: str) -> str:
    """A file or directory name made of [A-Za-z0-9._-] (model ids normally are already)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", str(name))
    return "_" + cleaned if cleaned in ("", ".", "..") else cleaned


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _ordered(study: Study) -> pd.DataFrame:
    runs = study.runs
    rank_m = {m: i for i, m in enumerate(study.models)}
    rank_l = {lvl: i for i, lvl in enumerate(study.levels)}
    return runs.assign(_m=runs["model_id"].map(rank_m), _l=runs["level"].map(rank_l)).sort_values(
        ["_m", "question_id", "variant", "_l"])


def _missing_energy(r) -> Optional[str]:
    if r.status == "ok" and not _blank(r.energy_j):
        return None
    return energy_reason(r.status, r.power_source, r.energy_note)


def write_csv(study: Study, path) -> Path:
    """UTF-8 with a byte-order mark, so Excel shows non-ASCII text right; formula-looking text is defused."""
    with atomic_output(path, "w", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for r in _ordered(study).itertuples():
            values = {**r._asdict(), "energy_missing_reason": _missing_energy(r)}
            row = []
            for name in CSV_COLUMNS:
                value = values.get(name)
                if _blank(value):
                    row.append("")
                elif name in TEXT_COLUMNS:
                    row.append(excel_safe(str(value)))
                else:
                    row.append(int(value) if name in ("question_id", "variant") else value)
            writer.writerow(row)
    return Path(path)


def _fmt(value, pattern: str, missing: str) -> str:
    return missing if _blank(value) else pattern.format(value)


def response_text(r, demo_note: Optional[str], variants: bool = False) -> str:
    """One answer as text; `variants`: the study words its prompts several ways, so the header names which."""
    if r.judge_status == "ok":
        score = (f"{r.total_score:g}/10 (factuality {r.factuality:g}, helpfulness {r.helpfulness:g}, "
                 f"structure {r.structure:g}, conciseness {r.conciseness:g})")
    else:
        score = f"no score (judge status: {r.judge_status})"
    reason = _missing_energy(r)
    lines = [
        RULE,
        f"Model:          {r.model_id} ({r.model_file or 'file unknown'}, {r.quant or 'quant unknown'})",
        f"Level:          {r.level}",
        f"Question:       {r.question_id} ({r.category})" + (f", prompt variant {r.variant}" if variants else ""),
        f"Status:         {r.status}" + (f": {r.error}" if r.status != "ok" and r.error else ""),
        f"Prompt tokens:  {_fmt(r.prompt_tokens, '{:.0f}', 'not measured')}",
        f"Output tokens:  {_fmt(r.completion_tokens, '{:.0f}', 'not measured')}",
        f"Latency:        {_fmt(r.latency_ms, '{:.1f} ms', 'not measured')}"
        f" (TTFT {_fmt(r.ttft_ms, '{:.1f} ms', 'n/a')}, decode {_fmt(r.decode_tok_s, '{:.1f} tok/s', 'n/a')})",
        "Energy:         " + (f"not measured: {reason}" if reason else f"{r.energy_j:.4f} J (net of idle)"),
        f"Score:          {score}",
    ]
    if demo_note:
        lines.append(f"Judge note:     {demo_note}")
    lines += [RULE, "PROMPT", THIN, r.prompt or "", THIN, "RESPONSE", THIN, r.output or "", ""]
    return "\n".join(lines)


@contextmanager
def atomic_directory(target):
    """Fill a temporary directory beside `target`, then swap it into place: never a half-written tree."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    os.chmod(tmp, umask_mode(directory=True))  # mkdtemp makes it 0700 whatever the umask
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_files(study: Study, directory) -> Path:
    """<directory>/<model>/Q081_L0.txt (Q081_v1_L0.txt with prompt variants): a header (model, level, question,
    tokens, latency, energy, score) + text."""
    variants = len(study.variants) > 1
    dirs = {}
    for model in study.models:
        name = safe_name(model)
        while name in dirs.values():
            name += "_"
        dirs[model] = name
    with atomic_directory(directory) as tmp:
        for model in study.models:
            (tmp / dirs[model]).mkdir()
        for r in _ordered(study).itertuples():
            variant = f"_v{r.variant}" if variants else ""
            path = tmp / dirs[r.model_id] / f"Q{r.question_id:03d}{variant}_{safe_name(r.level)}.txt"
            path.write_text(response_text(r, study.settings.demo_note, variants), encoding="utf-8")
    return Path(directory)


def summary_report(study: Study) -> str:
    runs = study.runs
    lines = [RULE, "INFERENCE RESULTS SUMMARY", RULE, ""]
    if study.settings.demo_note:
        lines += [f"Judge note: {study.settings.demo_note}", ""]
    if study.settings.prompt_generator:
        lines += [f"Prompt levels: {study.settings.prompt_generator}", ""]
    lines += [f"Total inferences: {len(runs)}", f"Models: {len(study.models)}", f"Levels: {', '.join(study.levels)}",
              f"Questions: {len(study.questions)}",
              *([f"Prompt variants per question: {len(study.variants)}"] if len(study.variants) > 1 else []), ""]
    for model in study.models:
        own = runs[runs["model_id"] == model]
        lines += [RULE, f"Model: {model}", RULE, f"Inferences: {len(own)}", "", "By prompt level:", ""]
        for level in study.levels:
            cell = own[own["level"] == level]
            if cell.empty:
                continue
            ok = cell[cell["status"] == "ok"]
            energy = ok["energy_j"].dropna()
            scored = cell[cell["judge_status"] == "ok"]
            reasons = sorted({_missing_energy(r) for r in cell.itertuples()} - {None})
            lines += [
                f"  {level}:",
                f"    Count: {len(cell)} ({len(cell) - len(ok)} failed)",
                f"    Avg prompt tokens: {_fmt(ok['prompt_tokens'].mean(), '{:.1f}', 'n/a')}",
                f"    Avg output tokens: {_fmt(ok['completion_tokens'].mean(), '{:.1f}', 'n/a')}",
                f"    Avg latency: {_fmt(ok['latency_ms'].mean(), '{:.2f} ms', 'n/a')}",
                "    Avg energy: " + (f"{energy.mean():.4f} J ({len(energy)} runs measured)" if len(energy)
                                      else f"not measured ({'; '.join(reasons) or 'no runs'})"),
                f"    Avg score: {_fmt(scored['total_score'].mean(), '{:.2f}/10', 'n/a')} ({len(scored)} scored, "
                f"{int((cell['judge_status'] == 'parse_error').sum())} parse errors)",
                "",
            ]
    return "\n".join(lines)


def write_exports(study: Study, outdir, parts: Iterable[str] = PARTS) -> None:
    outdir = Path(outdir)
    parts = set(parts)
    if "csv" in parts:
        write_csv(study, outdir / EXPORT_CSV)
    if "summary" in parts:
        with atomic_output(outdir / EXPORT_SUMMARY) as fh:
            fh.write(summary_report(study))
    if "txt" in parts:
        write_text_files(study, outdir / EXPORT_RESPONSES_DIR)


def export_responses(runs_path, scores_path, outdir, settings=None, parts: Iterable[str] = PARTS) -> None:
    """<outdir>/all_responses.csv, summary_report.txt and responses_by_model/<model>/Q081_L0.txt.
    scores_path may be None (no scores yet): the files then say 'no score'."""
    write_exports(load_study(runs_path, scores_path, settings), outdir, parts)
