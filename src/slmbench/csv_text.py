"""Text written into a CSV that a person may open in a spreadsheet program.

Excel, LibreOffice and Google Sheets run a cell that starts with = + - @ (or a tab or carriage return before
one) as a formula: `=HYPERLINK(...)` in a judge's reason, or a model's answer, would run when the file is opened.
Every user-facing CSV writes its free-text cells through `excel_safe`, which puts an apostrophe before such text
(OWASP's advice: the spreadsheet then shows it as text). The CSVs the pipeline itself reads as input (the prompt
CSVs `<category>_prompts_hierarchical.csv`, whose text must reach the model unchanged) are machine-only and
written as they are: config/README.md names them. Stdlib only.
"""

from __future__ import annotations

from typing import Iterable, Mapping

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(text: str) -> str:
    """`text`, with an apostrophe in front when a spreadsheet would read it as a formula. Idempotent."""
    return "'" + text if text.startswith(FORMULA_START) else text


def text_as_written(cell: str) -> str:
    """The text `excel_safe` was given: its apostrophe taken off again (the pipeline reads its own CSVs, and a
    workbook cell is written as text anyway). Text that really began with an apostrophe before a formula character
    loses it; no judge reason or model id needs one."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def safe_cells(row: Mapping, columns: Iterable[str]) -> dict:
    """`row` with the text values of `columns` defused (other values, and other columns, as they are)."""
    text = set(columns)
    return {k: excel_safe(v) if k in text and isinstance(v, str) else v for k, v in row.items()}
