"""LLM judge: rubric, verdict identity and cache keys, panel, shard runner, agreement. The calls themselves
(clients, retry, cache, spending ledger) are slmbench.llm's."""

from __future__ import annotations


def judge_shard(*args, **kwargs):
    from .runner import judge_shard as run

    return run(*args, **kwargs)
