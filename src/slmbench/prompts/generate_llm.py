"""Prompt levels written by a model (prompts.generate_mode: llm), asked again until their length is in range.

The model writes only the text a level adds to the canonical question; the level is L0 + a blank line +
that text, so the question itself is never reworded. A text outside the level's token range (counted
with the study's tiktoken encoding) is asked for again, up to `max_attempts` requests, telling the model
how far off it was; one still out of range is kept and listed by the token report. Every final text is
cached by a hash of (generator version, model, level instructions, question), so a rerun sends nothing.
The writer is any chat client of slmbench.llm (an OpenAI-compatible endpoint or a local GGUF), always at
temperature 0 (the cache key leaves temperature out); the workflow passes the config's judge section.
"""

from __future__ import annotations

import sys
from typing import Dict, Optional

from ..errors import UserError
from ..llm.cache import ContentCache, content_key
from ..llm.cost import check_budget, estimate_usd, usage_usd
from ..llm.tokens import OFFLINE_ENCODING, get_encoding
from ..questions import first_turn
from .tokens import LEVEL_RANGES

INSTRUCTIONS = {
    "L1": "Write a short clarification to append to the question below: say what exactly is asked and what a good "
          "answer must contain. Do not answer the question.",
    "L2": "Write step-by-step guidance to append to the question below: the steps to follow to produce a good "
          "answer. Do not answer the question.",
    "L3": "Write a worked example to append to the question below: a different, similar task with its full "
          "answer, showing the expected approach. Do not answer the question itself.",
    "P": "Write a paragraph about an everyday topic that has nothing to do with the question below (a park, a "
         "library, the weather). Do not mention the question.",
}
GENERATOR_VERSION = "slmbench-levels-llm-1"
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAX_TOKENS = 400  # enough for the longest range (+250 tokens) with room for a model's preamble


def addition_key(model: str, level: str, question: str) -> str:
    return content_key(GENERATOR_VERSION, model, INSTRUCTIONS[level], question)


def _ask(level: str, question: str) -> str:
    low, high = LEVEL_RANGES[level]
    return (f"{INSTRUCTIONS[level]} Use between {low + 10} and {high - 10} tokens (about {int(low * 0.75)} to "
            f"{int(high * 0.7)} words). Reply with the text only.\n\nQuestion:\n{question}")


class LevelWriter:
    """Writes the added text of each level for one question at a time; `requests` counts model calls."""

    def __init__(self, settings: dict, client=None, encoding: str = OFFLINE_ENCODING,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, max_tokens: int = DEFAULT_MAX_TOKENS):
        if max_attempts < 1:
            raise UserError(f"--max-attempts {max_attempts}: needs at least 1")
        self.settings = {**settings, "temperature": 0.0, "max_tokens": max_tokens}
        self._client = client
        self.enc = get_encoding(encoding)
        self.max_attempts = max_attempts
        self.max_tokens = max_tokens
        self.cache = ContentCache(settings["cache"]) if settings.get("cache") else None
        self.requests = 0
        self.prices = settings.get("price_per_mtok")
        self.spender = f"prompts:{settings.get('model')}"  # the ledger's name for what the writer spent
        self.share = 0.0  # of the reservation, handed back with each text stored

    def reserve(self, questions, levels) -> None:
        """Check the study's budget (the cache's ledger, judge.max_cost_usd) before any text is written:
        the writer spends from the same budget as the judge, and shows in the same totals."""
        pending = [(lvl, q) for q in questions for lvl in levels if lvl != "L0"
                   and not (self.cache and self.cache.get(addition_key(self.settings["model"], lvl, q)))]
        if not pending:
            return
        calls = [[{"role": "user", "content": _ask(lvl, q)}] for lvl, q in pending]
        estimate = estimate_usd(calls, self.max_tokens * self.max_attempts, self.prices)
        check_budget(f"prompt writer {self.settings['model']}", estimate, self.settings, len(pending), self.cache)
        self.share = (estimate or 0.0) / len(pending)

    @property
    def client(self):
        """Made on first use: a rerun served from the cache needs no endpoint, key or model file."""
        if self._client is None:
            from ..llm import make_client

            self._client = make_client(self.settings)
        return self._client

    def extra_tokens(self, text: str) -> int:
        return len(self.enc.encode("\n\n" + text))

    def addition(self, level: str, question: str) -> str:
        key = addition_key(self.settings["model"], level, question)
        cached = self.cache.get(key) if self.cache else None
        if cached:
            return cached["text"]
        low, high = LEVEL_RANGES[level]
        messages = [{"role": "user", "content": _ask(level, question)}]
        text = ""
        usage: Dict[str, int] = {}
        for _ in range(self.max_attempts):
            self.requests += 1
            reply = self.client.complete(messages, max_tokens=self.max_tokens)
            for k, v in reply.usage.items():
                usage[k] = usage.get(k, 0) + (v or 0)
            text = reply.text.strip()
            n = self.extra_tokens(text)
            if low <= n <= high:
                break
            hint = "longer" if n < low else "shorter"
            messages = messages + [{"role": "assistant", "content": text},
                                   {"role": "user", "content": f"That was {n} tokens; make it {hint}, between "
                                                               f"{low + 10} and {high - 10} tokens. Text only."}]
        else:
            print(f"slmbench: warning: {level} text still +{n} tokens after {self.max_attempts} request(s) "
                  f"(intended +{low}..{high}); kept, and listed by the token report", file=sys.stderr)
        if not text:
            raise UserError(f"the writer model '{self.settings['model']}' returned an empty text for level {level}; "
                            f"check the endpoint, or use generate_mode: template")
        if self.cache:  # the text and what it cost, in one transaction: the judge's ledger
            self.cache.put(key, {"text": text}, spender=self.spender, usd=usage_usd(usage, self.prices), usage=usage,
                           release_usd=self.share)
        return text

    def levels(self, question: str, levels) -> Dict[str, str]:
        base = question.strip()
        return {lvl: base if lvl == "L0" else f"{base}\n\n{self.addition(lvl, base)}" for lvl in levels}

    def close(self) -> None:
        if self.cache:
            self.cache.close()


def llm_levels(questions: Dict[int, dict], levels, settings: Optional[dict], client=None) -> Dict[int, Dict[str, str]]:
    """Level texts for every question; `settings` is the judge section plus the writer's optional encoding,
    max_attempts and max_tokens."""
    if not settings:
        raise UserError("prompts.generate_mode llm needs a model to write with: it uses the config's judge section "
                        "(--llm-settings)")
    unknown = [lvl for lvl in levels if lvl != "L0" and lvl not in INSTRUCTIONS]
    if unknown:
        raise UserError(f"levels {', '.join(unknown)} have no instructions for the llm generator (known: L0 "
                        f"{' '.join(INSTRUCTIONS)})")
    writer = LevelWriter(settings, client=client, encoding=settings.get("encoding") or OFFLINE_ENCODING,
                         max_attempts=int(settings.get("max_attempts") or DEFAULT_MAX_ATTEMPTS),
                         max_tokens=int(settings.get("max_tokens") or DEFAULT_MAX_TOKENS))
    try:
        writer.reserve([first_turn(item) for item in questions.values()], levels)
        return {qid: writer.levels(first_turn(item), levels) for qid, item in sorted(questions.items())}
    finally:
        writer.close()
