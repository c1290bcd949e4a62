"""MT-Bench question.jsonl: `{"question_id": int, "category": str, "turns": [str, ...]}`, one per line.

Only the first turn is used (it is L0, the canonical question); later turns belong to MT-Bench's
multi-turn protocol, which this study does not run. On the ground floor: the prompt generator and the judge
both read questions here, and neither imports the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

from .errors import UserError

FORMAT = 'each line one object like {"question_id": 81, "category": "writing", "turns": ["..."]}'
MAX_QUESTION_ID = 1_000_000  # ids far beyond any benchmark are typing errors (and overflow the reports)
MAX_CATEGORY_LENGTH = 64  # a category is part of file names


def question_problem(item) -> Optional[str]:
    """What is wrong with one parsed line, or None."""
    if not isinstance(item, dict):
        return "not a JSON object"
    qid = item.get("question_id")
    if not isinstance(qid, int) or isinstance(qid, bool):
        return f"question_id {qid!r} is not a whole number"
    if not 0 <= qid <= MAX_QUESTION_ID:
        return f"question_id {qid} is out of range (0 to {MAX_QUESTION_ID})"
    category = item.get("category")
    if not isinstance(category, str) or not category.strip():
        return f"question {qid}: category {category!r} is not a name"
    if len(category) > MAX_CATEGORY_LENGTH:
        return f"question {qid}: category name is {len(category)} characters long (at most {MAX_CATEGORY_LENGTH})"
    turns = item.get("turns")
    if not isinstance(turns, list) or not turns or not isinstance(turns[0], str) or not turns[0].strip():
        return f"question {qid}: turns must be a list whose first item is the question text"
    return None


def _jsonl_lines(path: Optional[str | Path], what: str, fix: str, encoding: str = "utf-8") -> Iterator[Tuple[int, str]]:
    """(line number, text) of every non-blank line of a JSONL file; nothing when no file is given. The one
    opener of the question and reference files, so both name a missing file the same way."""
    if not path:
        return
    try:
        fh = open(path, "rb")  # decoded line by line, so bytes that are not UTF-8 are named by their line
    except FileNotFoundError:
        raise UserError(f"{path}: {what} not found; {fix}") from None
    with fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UserError(f"{path} line {lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                f"{exc.start + 1}); save the {what} as UTF-8") from None
            if line.strip():
                yield lineno, line


def read_questions(path: Optional[str | Path]) -> Dict[int, dict]:
    """Questions by id, every line checked; {} when no file is given."""
    questions: Dict[int, dict] = {}
    for lineno, line in _jsonl_lines(path, "questions file", "check questions.file (or --questions)"):
        try:
            item = json.loads(line)
        except ValueError:
            raise UserError(f"{path} line {lineno}: not JSON; {FORMAT}") from None
        problem = question_problem(item)
        if problem:
            raise UserError(f"{path} line {lineno}: {problem}; {FORMAT}")
        if item["question_id"] in questions:
            raise UserError(f"{path} line {lineno}: question_id {item['question_id']} appears twice; "
                            f"give every question its own id")
        questions[item["question_id"]] = item
    return questions


def first_turn(item: dict) -> str:
    return item["turns"][0].strip()


# Where a judge's reference answer came from (score rows' reference_source column).
REFERENCE_SOURCES = ("question", "reference_file", "override", "none")
REFERENCE_FORMAT = '{"question_id": 101, "choices": [{"turns": ["..."]}]}'


def question_reference(item: dict) -> Optional[str]:
    """question.jsonl's own `reference` (its first turn), or None. FastChat's question.jsonl carries corrected
    short references for some questions whose GPT-4 reference answer is wrong (Q104, Q105, Q111, Q114, ...)."""
    reference = item.get("reference")
    if isinstance(reference, list) and reference and isinstance(reference[0], str) and reference[0].strip():
        return reference[0].strip()
    return None


def read_reference_file(path: Optional[str | Path]) -> Dict[int, str]:
    """An MT-Bench reference-answer file (first turn of the first choice) by question id; {} when no file."""
    refs: Dict[int, str] = {}
    lines = _jsonl_lines(path, "reference file", "check questions.references_file (or --references)", "utf-8-sig")
    for lineno, line in lines:
        try:
            item = json.loads(line)
            qid, text = int(item["question_id"]), item["choices"][0]["turns"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise UserError(f"{path} line {lineno}: not a reference answer; expected {REFERENCE_FORMAT}") from None
        if not isinstance(text, str):
            raise UserError(f"{path} line {lineno}: the reference's first turn is not text; "
                            f"expected {REFERENCE_FORMAT}")
        refs[qid] = text
    return refs


def choose_references(questions: Dict[int, dict], reference_file: Dict[int, str],
                      override: Optional[Dict[int, str]] = None) -> Dict[int, Tuple[str, str]]:
    """question id -> (reference text, source): an override file's entry first (a user's own corrections),
    then question.jsonl's own `reference`, then the reference-answer file only where the question has none."""
    chosen: Dict[int, Tuple[str, str]] = {qid: (text, "reference_file") for qid, text in reference_file.items()}
    for qid, item in questions.items():
        own = question_reference(item)
        if own:
            chosen[qid] = (own, "question")
    for qid, text in (override or {}).items():
        chosen[qid] = (text, "override")
    return chosen
