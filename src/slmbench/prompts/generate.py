"""Prompt levels generated from question.jsonl (the first turn is L0), offline and deterministic.

Each level adds a fixed kind of text to the canonical question, sized so the levels land in their
intended token ranges over L0 (cl100k/o200k tokens): L1 clarification (+50..150), L2 step guidance
(+100..200), L3 a worked example of the expected answer shape (+150..250), P irrelevant padding
(+100..200), and ordered L0 < L1 < L2 < L3 < P so the study's length check holds. The texts were written
for this project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import UserError
from ..records import atomic_output
from .convert import read_questions

# category -> (what a good answer is, the shape of the example)
CATEGORY_HINTS: Dict[str, str] = {
    "writing": "a piece of writing with a clear purpose, a fitting tone for its reader and a clean structure",
    "roleplay": "an answer that stays in the given role, speaks in that voice and keeps to the situation",
    "reasoning": "a careful chain of reasoning in which every step follows from the facts that are given",
    "math": "a correct calculation in which each step is shown and the final number is stated plainly",
    "coding": "working, readable code with a short explanation of how it works and of its edge cases",
    "extraction": "exactly the requested items taken from the given text, in the requested format",
    "stem": "an accurate scientific or technical explanation at the level of an informed general reader",
    "humanities": "a balanced, well-informed discussion that names concrete examples and sources of evidence",
}
GENERIC_HINT = "a complete, accurate and well-organised answer that addresses every part of the request"

CLARIFICATION = (
    "\n\nTo be clear about what is wanted: the task above asks for {hint}. Answer the request exactly as it is "
    "asked, and do not change the question into an easier one. If some detail is not specified, choose a "
    "reasonable interpretation and state it in one sentence before you answer. Keep the answer focused on what "
    "was asked, use plain language, and make sure that the final answer is easy to find."
)
GUIDANCE = (
    "\n\nWork through it in steps. First, restate in one sentence what the task asks for, which is {hint}. "
    "Second, list the facts, constraints and requirements that the task gives you, and note anything that is "
    "missing. Third, plan the answer: decide on its parts and their order before you write them. Fourth, write "
    "the answer itself, one part at a time, checking each part against the requirements as you go. Fifth, read "
    "the answer once more, correct any mistake you find, and remove anything that does not help the reader. "
    "Finally, make sure the answer ends with a clear conclusion or result."
)
EXAMPLE = (
    "\n\nHere is an example of the expected approach on a different task. Task: 'A shop sells pencils at 3 for "
    "45 cents. How much do 12 pencils cost?' Answer: First, find the price of one pencil: 45 cents divided by 3 "
    "is 15 cents. Next, multiply by the number of pencils: 12 times 15 cents is 180 cents. Finally, convert the "
    "result: 180 cents is 1 dollar and 80 cents. Result: 12 pencils cost $1.80. Apply the same care to the "
    "task above, which asks for {hint}: say what you are doing, do it, check it, and finish with a clear result "
    "that answers the question."
)
PADDING = (
    "\n\nBackground note (not related to the task): the town library reopened last spring after a long "
    "renovation. The reading room now has taller windows, new oak tables and a quiet corner for people who "
    "study in the evening. The garden behind the building was replanted with lavender, rosemary and a row of "
    "young apple trees, and volunteers water them twice a week in the summer. A small cafe near the entrance "
    "sells tea, soup and bread baked in the morning. On Saturdays a group meets there to repair bicycles, "
    "clocks and old radios, and children come to watch. The local newspaper printed a photograph of the "
    "opening day, when the mayor cut a green ribbon and a brass band played on the steps. Visitors often say "
    "that the building feels lighter and calmer than it did before, and the number of borrowed books has "
    "risen every month since it reopened. In the winter the old boiler was replaced, and it now stands "
    "in a museum of local industry across the square."
)


def template_levels(question: str, category: str) -> Dict[str, str]:
    hint = CATEGORY_HINTS.get(category, GENERIC_HINT)
    base = question.strip()
    return {
        "L0": base,
        "L1": base + CLARIFICATION.format(hint=hint),
        "L2": base + GUIDANCE.format(hint=hint),
        "L3": base + EXAMPLE.format(hint=hint),
        "P": base + PADDING,
    }


def generate_spreadsheet(questions_file, out_xlsx, *, levels: Sequence[str], categories: Optional[Sequence[str]] = None,
                         mode: str = "template", llm=None) -> Path:
    """Write the wide-layout prompt sheet (question_id, category, <levels...>) for the questions file."""
    questions = read_questions(questions_file)
    if categories is not None:
        questions = {q: item for q, item in questions.items() if item["category"] in categories}
    if not questions:
        raise UserError(f"{questions_file}: no questions")
    if mode == "llm":
        from .generate_llm import llm_levels

        texts_by_question = llm_levels(questions, levels, llm)
    elif mode == "template":
        unknown = [lvl for lvl in levels if lvl not in ("L0", "L1", "L2", "L3", "P")]
        if unknown:
            raise UserError(f"levels {', '.join(unknown)} have no template; the template generator knows L0 L1 L2 L3 P")
        texts_by_question = {q: template_levels(item["turns"][0], item["category"]) for q, item in questions.items()}
    else:
        raise UserError(f"prompts.generate_mode '{mode}' is unknown; use template or llm")
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "prompts"
    sheet.append(["question_id", "category", *levels])
    for qid, item in sorted(questions.items()):
        texts = texts_by_question[qid]
        sheet.append([qid, item["category"], *[texts[lvl] for lvl in levels]])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = "s" if isinstance(cell.value, str) else cell.data_type  # never a formula
    out = Path(out_xlsx)
    with atomic_output(out, "wb") as fh:
        book.save(fh)
    return out


def level_rows(questions_file) -> List[dict]:
    """All generated prompts as rows (for the token report and tests)."""
    rows = []
    for qid, item in sorted(read_questions(questions_file).items()):
        for level, text in template_levels(item["turns"][0], item["category"]).items():
            rows.append({"question_id": qid, "category": item["category"], "level": level, "prompt": text})
    return rows
