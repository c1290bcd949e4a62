"""What names a verdict (the judge's identity, the verdict's cache key), how a verdict is read (from a reply or
from the cache, strictly), and what a set of verdicts cost."""

from __future__ import annotations

import json
import math
from typing import Dict, List, Mapping, Optional

from pydantic import ValidationError

from ..llm.cache import content_key
from ..llm.cost import usage_usd
from ..llm.registry import client_identity
from ..scores import DIMENSIONS
from .rubric import Verdict


class DuplicateKey(ValueError):
    pass


def _unique_keys(pairs) -> dict:
    """A JSON object whose keys are unique: `{"factuality": 0, "factuality": 2.5}` says two things at once."""
    found: dict = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(f"key {key!r} given twice")
        found[key] = value
    return found


def verdict_from_json(text: str, with_reference: bool = False) -> Optional[Verdict]:
    """The verdict in a judge's reply, or None when it is not one: not a JSON object, a key given twice, a
    missing or unknown key, a score that is not a JSON number in half points from 0 to 2.5 (true, "2.5"), a
    reference_match that is not true or false where a reference was shown."""
    # strict=False: small local judges put raw newlines inside the strings; the JSON is otherwise well
    # formed, and rejecting it would turn a readable verdict into a parse_error.
    try:
        data = json.loads(text, strict=False, object_pairs_hook=_unique_keys)
        verdict = Verdict.model_validate(data)
    except (ValueError, ValidationError, TypeError, RecursionError):
        return None
    if with_reference and verdict.reference_match is None:
        return None  # the correctness answer was asked for: a verdict without it is incomplete
    if not with_reference and verdict.reference_match is not None:
        return None  # no reference was shown: a correctness answer would be made up
    return verdict


def _is_count(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def cached_row_problem(row, with_reference: bool) -> Optional[str]:
    """Why a cached verdict row cannot be used (None: it can). A row is checked as a fresh reply is: an ok
    verdict's scores are strict half points whose total is their sum, a parse error carries no score; an edited
    or damaged cache entry is asked again rather than written into the scores."""
    if not isinstance(row, dict):
        return "not a JSON object"
    status = row.get("judge_status")
    if not isinstance(row.get("reason", ""), str):
        return "reason is not a text"
    if not (_is_count(row.get("judge_prompt_tokens")) and _is_count(row.get("judge_completion_tokens"))):
        return "token counts are not whole numbers"
    if status == "parse_error":
        present = [d for d in (*DIMENSIONS, "total_score") if row.get(d) is not None]
        return f"a parse error with scores ({', '.join(present)})" if present else None
    if status != "ok":
        return f"judge_status {status!r}"
    fields = {d: row.get(d) for d in DIMENSIONS}
    fields["explanation"] = row.get("reason", "")
    if with_reference or row.get("reference_match") is not None:
        fields["reference_match"] = row.get("reference_match")
    try:
        verdict = Verdict.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'row'}: {first['msg']}"
    if with_reference and verdict.reference_match is None:
        return "reference_match is missing"
    total = row.get("total_score")
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not math.isclose(total, verdict.total):
        return f"total_score {total!r} is not the sum of the four scores ({verdict.total:g})"
    return None


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
