"""Token lengths of the prompt levels (tiktoken), checked against the study's level design (slmbench.levels):
each level's growth over the level it builds on is in its band, and L0 < L1 < L2 < L3 < P.

This is the spreadsheet-side count, the same for every model. What each model really reads (its own
tokenizer, with its chat template) is measured at run time and stored as `prompt_tokens` in every run
record.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Sequence

from .. import levels as design
from ..errors import UserError
from ..llm.tokens import get_encoding
from ..prompt_rows import read_prompt_rows
from ..records import atomic_output

# (low, high) tokens per step, from the one definition in slmbench.levels (generate_llm.py reads this name)
LEVEL_RANGES = {name: (band.low, band.high) for name, band in design.step_bands().items()}
REPORT_FIELDS = ["question_id", "variant", "category", "level", "tokens", "base_level", "growth", "band", "in_band",
                 "delta_vs_L0", "problem", "encoding"]


def read_prompt_csvs(paths: Sequence[str | Path]) -> List[dict]:
    return [asdict(row) for path in paths for row in read_prompt_rows(path)]


def report_rows(rows: List[dict], enc, encoding_name: str) -> List[dict]:
    """One row per prompt: its tokens, its growth over its base level and that step's band, and every
    problem the level design finds (slmbench.levels.growth_problems), put on the level at fault."""
    # a prompt is one (question, variant): each wording's levels build on that wording's own L0 ... L3
    tokens = {(r["question_id"], r.get("variant", 0), r["level"]): len(enc.encode(r["prompt"])) for r in rows}
    lengths: Dict[tuple, Dict[str, int]] = {}
    for (qid, variant, level), n in tokens.items():
        lengths.setdefault((qid, variant), {})[level] = n
    problems: Dict[tuple, List[str]] = {}
    for item, by_level in lengths.items():
        for level, problem in design.growth_problems(by_level):
            problems.setdefault((*item, level), []).append(problem)
    report = []
    for r in rows:
        qid, variant, level = r["question_id"], r.get("variant", 0), r["level"]
        own = lengths[(qid, variant)]
        base = design.base_of(level)
        growth = own[level] - own[base] if base in own else None
        band = design.band_of(level)
        report.append({"question_id": qid, "variant": variant, "category": r["category"], "level": level,
                       "tokens": own[level],
                       "base_level": base or "", "growth": growth, "band": str(band) if band else "",
                       "in_band": None if band is None or growth is None else growth in band,
                       "delta_vs_L0": own[level] - own["L0"] if "L0" in own else None,
                       "problem": "; ".join(problems.get((qid, variant, level), [])), "encoding": encoding_name})
    return report


def prompt_name(row: dict) -> str:
    """`question 81 L2`, or `question 81 variant 1 L2` for another wording of it."""
    variant = f" variant {row['variant']}" if row.get("variant") else ""
    return f"question {row['question_id']}{variant} {row['level']}"


def token_report(prompt_csvs: Sequence[str | Path], out_csv, encoding: str, strict: bool = False) -> List[str]:
    """Write token_report.csv (one row per question x level); return the violations, raising on them when strict.

    The report is written in every case, so a strict failure can be read there."""
    enc = get_encoding(encoding)
    rows = read_prompt_csvs(prompt_csvs)
    report = report_rows(rows, enc, enc.name)
    violations = [f"{prompt_name(r)}: {r['problem']}" for r in report if r["problem"]]
    with atomic_output(out_csv) as fh:
        writer = csv.DictWriter(fh, fieldnames=REPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(report)
    for line in violations:
        print(f"slmbench: length: {line}", file=sys.stderr)
    if strict and violations:
        raise UserError(f"{len(violations)} prompt length violation(s), first: {violations[0]}; see {out_csv} "
                        f"(prompts.strict_lengths is true)")
    return violations
