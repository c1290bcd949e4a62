"""What a batch of calls will cost before it starts, what each call did cost, and the study-wide limit
(kept in the cache's ledger). Prices are USD per million prompt ("input") and completion ("output") tokens."""

from __future__ import annotations

import sys
from typing import Dict, List, Optional

from ..errors import UserError
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


def check_budget(name: str, estimate: Optional[float], settings: dict, n: int, cache) -> None:
    """Print the estimate; stop before any request when the study's spending would pass judge.max_cost_usd."""
    max_cost = settings.get("max_cost_usd")
    local = settings.get("backend") == "llamacpp"  # an in-process judge costs nothing
    if estimate is None:
        if max_cost is not None and not local:
            raise UserError(f"judge '{name}': a cost limit is set (judge.max_cost_usd or --max-cost) but no price "
                            f"table (judge.price_per_mtok or --price), so the cost cannot be estimated; add the prices")
        return
    print(f"slmbench: judge {name}: {n} verdicts to request, estimated at most ${estimate:.2f}", file=sys.stderr)
    if max_cost is None or local:
        return
    if cache is not None:
        cache.reserve(estimate, float(max_cost), n)  # counts what the whole study spent, from the cache's ledger
    elif estimate > max_cost:
        raise UserError(f"estimated judge cost ${estimate:.2f} for {n} verdicts exceeds the limit ${max_cost:.2f} "
                        f"(judge.max_cost_usd or --max-cost); raise the limit or judge fewer runs")

