"""The final values of the reference answers: what an added prompt text must never give away.

Two sources, both optional: question.jsonl's own `reference` field (FastChat's short reference, first turn)
and an MT-Bench reference file (`{"question_id", "choices": [{"turns": [...]}]}`, e.g. GPT-4's answers).
A short reference is its own final value; from a long one, the last sentence is taken. Values are the
numbers (one-digit numbers only from a reference that is nothing much more than that number, since a
digit alone matches too much), quoted strings, and a short answer sentence as a whole.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional

from .question_facts import sentences

NUMBER = re.compile(r"(?<![\w.^])[$€£]?\d[\d,]*(?:\.\d+)?(?:/\d+)?%?(?![\w^])")
QUOTED = re.compile(r"[\"“]([^\"”]{3,60})[\"”]")
LEAD_IN = re.compile(r"^(?:the answer is|answer:|it means)\s+", re.I)
SHORT_ANSWER_WORDS = 12  # a reference this short is an answer sentence, checked as a whole
BARE_VALUE_WORDS = 4  # ...this short, and even its one-digit numbers are the answer ("Area is 3")


def normal_number(token: str) -> str:
    return token.strip("$€£").replace(",", "")


def normal_text(text: str) -> str:
    return " ".join(re.sub(r"[^\w%/.$-]+", " ", text.lower()).replace(". ", " ").split()).strip(" .")


def final_values(answer: str, long_form: bool) -> List[str]:
    """The values of one reference answer (first line of a short reference, last sentence of a long one)."""
    lines = [line.strip() for line in str(answer).splitlines() if line.strip()]
    if not lines:
        return []
    line = (sentences(" ".join(lines))[-1:] or [lines[-1]])[0] if long_form else lines[0]
    line = LEAD_IN.sub("", line)
    n_words = len(line.split())
    values = [normal_number(n) for n in NUMBER.findall(line)
              if len(normal_number(n).strip("%")) >= 2 or n_words <= BARE_VALUE_WORDS]
    values += [q.strip() for q in QUOTED.findall(line)]
    if not long_form and 2 <= n_words <= SHORT_ANSWER_WORDS:
        values.append(line.rstrip("."))
    return list(dict.fromkeys(v for v in values if v))


def _field_reference(item: dict) -> Optional[str]:
    reference = item.get("reference")
    if isinstance(reference, list) and reference and isinstance(reference[0], str) and reference[0].strip():
        return reference[0]
    return None


def read_reference_values(questions: Dict[int, dict], references_file=None) -> Dict[int, List[str]]:
    """question id -> the final values of its references (question.jsonl's field, then the reference file)."""
    values: Dict[int, List[str]] = {}
    for qid, item in questions.items():
        reference = _field_reference(item)
        if reference:
            values[qid] = final_values(reference, long_form=False)
    if not references_file:
        return values
    from ..questions import read_reference_file  # the one reader of the MT-Bench reference-answer format

    for qid, answer in read_reference_file(references_file).items():
        short = len(str(answer).split()) <= SHORT_ANSWER_WORDS
        merged = values.get(qid, []) + final_values(answer, long_form=not short)
        values[qid] = list(dict.fromkeys(merged))
    return values


def leaked(values: List[str], question: str, addition: str) -> List[str]:
    """The values that an addition states although the question itself does not contain them."""
    question_numbers = {normal_number(n) for n in NUMBER.findall(question)}
    addition_numbers = {normal_number(n) for n in NUMBER.findall(addition)}
    question_text, addition_text = f" {normal_text(question)} ", f" {normal_text(addition)} "
    found = []
    for value in values:
        if NUMBER.fullmatch(value) or NUMBER.fullmatch(value.rstrip("%")):
            if value in addition_numbers and value not in question_numbers:
                found.append(value)
            continue
        phrase = normal_text(value)
        if phrase and f" {phrase} " in addition_text and f" {phrase} " not in question_text:
            found.append(value)
    return found
