"""LLM judge: rubric, backends (OpenAI-compatible endpoint, in-process llama.cpp), cache, shard runner."""

from __future__ import annotations


def judge_shard(*args, **kwargs):
    from .runner import judge_shard as run

    return run(*args, **kwargs)
