"""LLM judge: rubric, backends (OpenAI-compatible endpoint, in-process llama.cpp), cache, shard runner."""

from __future__ import annotations


def judge_shard(*args, **kwargs):
    from .runner import judge_shard as run

    return run(*args, **kwargs)


def merge_scores(*args, **kwargs):
    from .runner import merge_scores as run

    return run(*args, **kwargs)
