"""Token lengths of the prompt levels (tiktoken), checked against each level's intended range over L0.

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

from ..errors import UserError
from ..llm.tokens import get_encoding
from ..prompt_rows import read_prompt_rows
from ..records import atomic_output

# intended extra tokens over L0, per level (the study's design)
LEVEL_RANGES = {"L1": (50, 150), "L2": (100, 200), "L3": (150, 250), "P": (100, 200)}
ORDERED = ("L0", "L1", "L2", "L3")  # each must be longer than the one before; P only longer than L0
REPORT_FIELDS = ["question_id", "category", "level", "tokens", "delta_vs_L0", "range", "in_range", "problem",
                 "encoding"]


def read_prompt_csvs(paths: Sequence[str | Path]) -> List[dict]:
    return [asdict(row) for path in paths for row in read_prompt_rows(path)]


def order_problems(tokens: Dict[str, int]) -> List[tuple]:
    """The study's length check for one question's levels: L0 < L1 < L2 < L3 and P > L0.

    Returns (level at fault, what is wrong) pairs; the fault is put on the level that should be longer."""
    problems = []
    chain = [lvl for lvl in ORDERED if lvl in tokens]
    for shorter, longer in zip(chain, chain[1:]):
        if tokens[longer] <= tokens[shorter]:
            problems.append((longer, f"{longer} ({tokens[longer]} tokens) not longer than {shorter} ({tokens[shorter]})"))
    if "P" in tokens and "L0" in tokens and tokens["P"] <= tokens["L0"]:
        problems.append(("P", f"P ({tokens['P']} tokens) not longer than L0 ({tokens['L0']})"))
    return problems


def report_rows(rows: List[dict], enc, encoding_name: str) -> List[dict]:
    tokens = {(r["question_id"], r["level"]): len(enc.encode(r["prompt"])) for r in rows}
    report = []
    for r in rows:
        qid, level = r["question_id"], r["level"]
        base = tokens.get((qid, "L0"))
        delta = tokens[(qid, level)] - base if base is not None else None
        low, high = LEVEL_RANGES.get(level, (None, None))
        in_range = None if low is None or delta is None else low <= delta <= high
        problem = f"{delta:+d} tokens over L0, intended +{low}..{high}" if in_range is False else ""
        report.append({"question_id": qid, "category": r["category"], "level": level, "tokens": tokens[(qid, level)],
                       "delta_vs_L0": delta, "range": f"{low}..{high}" if low is not None else "",
                       "in_range": in_range, "problem": problem, "encoding": encoding_name})
    return report


def token_report(prompt_csvs: Sequence[str | Path], out_csv, encoding: str, strict: bool = False) -> List[str]:
    """Write token_report.csv (one row per question x level); return the violations, raising on them when strict.

    The report is written in every case, so a strict failure can be read there."""
    enc = get_encoding(encoding)
    rows = read_prompt_csvs(prompt_csvs)
    report = report_rows(rows, enc, enc.name)
    by_question: Dict[str, Dict[str, dict]] = {}
    for r in report:
        by_question.setdefault(r["question_id"], {})[r["level"]] = r
    for levels in by_question.values():
        for level, problem in order_problems({lvl: r["tokens"] for lvl, r in levels.items()}):
            row = levels[level]
            row["problem"] = "; ".join(p for p in (row["problem"], problem) if p)
    violations = [f"question {r['question_id']} {r['level']}: {r['problem']}" for r in report if r["problem"]]
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
