"""prompt_review.xlsx: the study's prompts for a person to read and sign off before hours of inference.

One row per question (and prompt variant, where prompts.variants > 1): its levels side by side (wrapped
text), each level's tokens, the audit's flags, and an empty column for the reviewer's note. A second sheet
says which generator wrote the prompts and counts the problems per level.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import List, Sequence

from ..records import atomic_output

TEXT_WIDTH = 60
REVIEW_SHEET = "review"
SUMMARY_SHEET = "summary"


def write_review(prompts: Sequence, rows: List[dict], out_xlsx, generator: str) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    levels = list(dict.fromkeys(p.level for p in prompts))
    texts = {(p.question_id, p.variant, p.level): p.text for p in prompts}
    audit = {(r["question_id"], r["variant"], r["level"]): r for r in rows}
    items = sorted({(p.question_id, p.variant): p.category for p in prompts}.items())
    several = len({variant for (_, variant), _ in items}) > 1  # a variant column only where there are several

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = REVIEW_SHEET
    keys = ["question_id", *(["variant"] if several else []), "category"]
    header = [*keys, *[f"{lvl}" for lvl in levels], *[f"{lvl} tokens" for lvl in levels],
              "audit flags", "reviewer note"]
    sheet.append(header)
    for (qid, variant), category in items:
        found = {lvl: audit.get((qid, variant, lvl)) for lvl in levels}
        flags = [f"{lvl}: {row['problems']}" for lvl, row in found.items() if row and row["problems"]]
        sheet.append([qid, *([variant] if several else []), category,
                      *[texts.get((qid, variant, lvl), "") for lvl in levels],
                      *[row["tokens"] if row else None for row in found.values()],
                      "\n".join(flags) or "ok", None])
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a prompt starting with '=' stays text
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    text_columns = range(len(keys) + 1, len(keys) + 1 + len(levels))
    for index in range(1, len(header) + 1):
        wide = index in text_columns or header[index - 1] == "audit flags"
        sheet.column_dimensions[get_column_letter(index)].width = TEXT_WIDTH if wide else 12
    sheet.freeze_panes = f"{get_column_letter(len(keys) + 1)}2"

    summary = book.create_sheet(SUMMARY_SHEET)
    summary.append(["generator", generator])
    summary.append(["questions", len({qid for (qid, _), _ in items})])
    if several:
        summary.append(["variants per question", len({variant for (_, variant), _ in items})])
    summary.append([])
    summary.append(["level", "prompts", "with problems"])
    failed = collections.Counter(r["level"] for r in rows if r["status"] == "fail")
    counts = collections.Counter(r["level"] for r in rows)
    for lvl in levels:
        summary.append([lvl, counts[lvl], failed[lvl]])
    out = Path(out_xlsx)
    with atomic_output(out, "wb") as fh:
        book.save(fh)
    return out
