"""Prompt levels generated from question.jsonl (the first turn is L0), written as a wide-layout workbook.

Two modes: `template` (templates.py: deterministic, offline) and `llm` (generate_llm.py: a model writes
what each level adds, retried until its length is in range, cached). Either way a level is L0, a blank
line, and the added text, so the question itself is never reworded. The workbook is then read by the
same converter as a user's sheet. It never replaces a workbook that this generator did not write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import UserError
from ..questions import first_turn, read_questions
from ..records import atomic_output
from .templates import additions

CREATOR = "slmbench prompts generate"  # workbook property marking a sheet this module may overwrite
TEMPLATE_LEVELS = ("L0", "L1", "L2", "L3", "P")


def template_levels(question: str, category: str) -> Dict[str, str]:
    base = question.strip()
    return {"L0": base, **{level: f"{base}\n\n{text}" for level, text in additions(category).items()}}


def _refuse_foreign_workbook(out: Path) -> None:
    """A user's hand-made sheet (e.g. data/generated_prompts.xlsx) must never be replaced by generated text."""
    if not out.exists():
        return
    import openpyxl

    try:
        creator = openpyxl.load_workbook(out, read_only=True).properties.creator
    except Exception:  # unreadable or not a workbook: still not ours to replace
        creator = None
    if creator != CREATOR:
        raise UserError(f"{out} exists and was not written by the generator (a user's sheet?); write the generated "
                        f"sheet elsewhere (--out) or move that file away")


def _texts(questions: Dict[int, dict], levels: Sequence[str], mode: str, llm: Optional[dict]) -> Dict[int, Dict[str, str]]:
    if mode == "llm":
        from .generate_llm import llm_levels

        return llm_levels(questions, levels, llm)
    if mode != "template":
        raise UserError(f"prompts.generate_mode '{mode}' is unknown; use template or llm")
    unknown = [lvl for lvl in levels if lvl not in TEMPLATE_LEVELS]
    if unknown:
        raise UserError(f"levels {', '.join(unknown)} have no template; the template generator writes "
                        f"{' '.join(TEMPLATE_LEVELS)} (or use generate_mode: llm)")
    return {q: template_levels(first_turn(item), item["category"]) for q, item in questions.items()}


def generate_spreadsheet(questions_file, out_xlsx, *, levels: Sequence[str], categories: Optional[Sequence[str]] = None,
                         mode: str = "template", llm: Optional[dict] = None) -> Path:
    """Write the wide-layout sheet (question_id, category, <levels...>) for the questions file."""
    out = Path(out_xlsx)
    _refuse_foreign_workbook(out)
    questions = read_questions(questions_file)
    if categories is not None:
        questions = {q: item for q, item in questions.items() if item["category"] in categories}
    if not questions:
        raise UserError(f"{questions_file}: no questions" + (f" in the categories {', '.join(categories)}" if categories else ""))
    texts = _texts(questions, list(levels), mode, llm)
    import openpyxl

    book = openpyxl.Workbook()
    book.properties.creator = CREATOR
    sheet = book.active
    sheet.title = "prompts"
    sheet.append(["question_id", "category", *levels])
    for qid, item in sorted(questions.items()):
        sheet.append([qid, item["category"], *[texts[qid][lvl] for lvl in levels]])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a question starting with '=' stays text, never a formula
    with atomic_output(out, "wb") as fh:
        book.save(fh)
    return out


def level_rows(questions_file, levels: Sequence[str] = TEMPLATE_LEVELS) -> List[dict]:
    """Every template prompt as a row (question_id, category, level, prompt), without writing a workbook."""
    rows = []
    for qid, item in sorted(read_questions(questions_file).items()):
        texts = template_levels(first_turn(item), item["category"])
        rows.extend({"question_id": qid, "category": item["category"], "level": lvl, "prompt": texts[lvl]}
                    for lvl in levels)
    return rows
