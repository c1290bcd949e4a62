"""What a batch of calls will cost before it starts, what each call did cost, and the study-wide limit
(kept in the cache's ledger). Prices are USD per million prompt ("input") and completion ("output") tokens."""

from __future__ import annotations

import sys
from typing import Dict, List, Optional

from ..errors import UserError
from .cache import FEWER
from .tokens import count_tokens


def estimate_usd(message_lists: List[List[dict]], max_tokens: int, prices: Optional[Dict[str, float]],
                 encoding: str = "o200k_base") -> Optional[float]:
    """Upper estimate: every prompt token plus max_tokens of output per call, at the per-million prices.
    (A retry of an invalid reply can add to it; it is rare and counted in the real usage.)"""
    if not prices:
        return None
    if not message_lists:
        return 0.0
    prompt = count_tokens([m["content"] for msgs in message_lists for m in msgs], encoding)
    completion = max_tokens * len(message_lists)
    return prompt / 1e6 * prices["input"] + completion / 1e6 * prices["output"]


def usage_usd(usage: Dict[str, int], prices: Optional[Dict[str, float]]) -> Optional[float]:
    if not prices:
        return None
    return ((usage.get("prompt_tokens") or 0) / 1e6 * prices["input"]
            + (usage.get("completion_tokens") or 0) / 1e6 * prices["output"])


def check_budget(name: str, estimate: Optional[float], settings: dict, n: int, cache, what: str = "verdicts",
                 who: str = "judge") -> None:
    """Print the estimate; stop before any request when the study's spending would pass judge.max_cost_usd.
    `what`: the n results asked for (verdicts, level texts); `who`: the spender (the judge, the prompt writer)."""
    max_cost = settings.get("max_cost_usd")
    local = settings.get("backend") == "llamacpp"  # an in-process model costs nothing
    if estimate is None:
        if max_cost is not None and not local:
            raise UserError(f"{who} '{name}': a cost limit is set (judge.max_cost_usd or --max-cost) but no price "
                            f"table ({'judge' if who == 'judge' else 'prompts.generator'}.price_per_mtok or --price), "
                            f"so the cost cannot be estimated; add the prices")
        return
    print(f"slmbench: {who} {name}: {n} {what} to request, estimated at most ${estimate:.2f}", file=sys.stderr)
    if max_cost is None or local:
        return
    if cache is not None:
        cache.reserve(estimate, float(max_cost), n, what)  # counts what the whole study spent, from the cache's ledger
    elif estimate > max_cost:
        raise UserError(f"estimated {who} cost ${estimate:.2f} for {n} {what} exceeds the limit ${max_cost:.2f} "
                        f"(judge.max_cost_usd or --max-cost); raise the limit or {FEWER.get(what, 'ask for fewer')}")
