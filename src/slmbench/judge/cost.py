"""What judging will cost before it starts, and what it did cost after."""

from __future__ import annotations

import sys
from typing import Dict, List, Optional

from ..errors import UserError


def count_tokens(texts: List[str], encoding: str = "o200k_base") -> int:
    from ..prompts.tokens import get_encoding

    enc = get_encoding(encoding)
    return sum(len(enc.encode(t)) for t in texts)


def estimate_usd(message_lists: List[List[dict]], max_tokens: int, prices: Optional[Dict[str, float]],
                 encoding: str = "o200k_base") -> Optional[float]:
    """Upper estimate: every prompt token plus max_tokens of output per verdict, at the per-million prices."""
    if not prices or not message_lists:
        return None if not prices else 0.0
    prompt = count_tokens([m["content"] for msgs in message_lists for m in msgs], encoding)
    completion = max_tokens * len(message_lists)
    return prompt / 1e6 * prices["input"] + completion / 1e6 * prices["output"]


def check_budget(estimate: Optional[float], max_cost: Optional[float], n: int) -> None:
    if estimate is None:
        return
    print(f"slmbench: judge: {n} verdicts to request, estimated at most ${estimate:.2f}", file=sys.stderr)
    if max_cost is not None and estimate > max_cost:
        raise UserError(f"estimated judge cost ${estimate:.2f} for {n} verdicts exceeds the limit ${max_cost:.2f} "
                        f"(judge.max_cost_usd or --max-cost); raise the limit or judge fewer runs")


def actual_usd(rows: List[dict], prices: Optional[Dict[str, float]]) -> Optional[float]:
    if not prices:
        return None
    prompt = sum(int(r.get("judge_prompt_tokens") or 0) for r in rows)
    completion = sum(int(r.get("judge_completion_tokens") or 0) for r in rows)
    return prompt / 1e6 * prices["input"] + completion / 1e6 * prices["output"]
