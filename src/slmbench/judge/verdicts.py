"""What names a verdict (the judge's identity, the verdict's cache key) and what a set of verdicts cost."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

from ..llm.cache import content_key
from ..llm.cost import usage_usd
from ..llm.registry import client_identity


def judge_identity(settings: Mapping) -> str:
    """The judge's client: backend, model, resolved endpoint (OPENAI_BASE_URL included) or GGUF, chat format,
    temperature (llm.client_identity), and the reply budget max_tokens: a verdict cut short under one budget
    is never reused under another. From the settings alone: checking the cache needs no key, loads no model."""
    return f"{client_identity(settings)}|max_tokens={settings['max_tokens']}"


def verdict_key(judge_identity: str, rubric_version: str, question: str, reference: Optional[str], answer: str,
                repeat: int = 0) -> str:
    """Content hash of everything that decides a verdict: a verdict is never reused for another judge, rubric,
    question, reference, answer or repeat."""
    return content_key(judge_identity, rubric_version, question, reference or "", answer, repeat)


def actual_usd(rows: List[dict], prices: Optional[Dict[str, float]]) -> Optional[float]:
    """What the verdicts in these score rows cost, from their judge_*_tokens."""
    if not prices:
        return None
    return sum(usage_usd({"prompt_tokens": int(r.get("judge_prompt_tokens") or 0),
                          "completion_tokens": int(r.get("judge_completion_tokens") or 0)}, prices) for r in rows)
