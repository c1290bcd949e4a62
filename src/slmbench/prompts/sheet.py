"""Find the prompt table in a hand-made workbook: which sheet, which header row, which column is what.

Headers are matched ignoring case, spaces, underscores and hyphens ("Question ID" is question_id); a
header in another language is named with a mapping field -> header ("prompt" -> "Texto"). The header
may sit below a title row; without a sheet name, the first sheet with a question_id column is used.
Columns that are neither a field nor a level (notes, another system's ids) are ignored.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import UserError
from ..prompt_rows import PROMPT_COLUMNS

FIELDS = PROMPT_COLUMNS  # the long layout's columns are the prompt CSV's
STANDARD_LEVELS = ("L0", "L1", "L2", "L3", "P")
ALIASES = {"id": "question_id", "qid": "question_id"}
HEADER_SEARCH_ROWS = 10  # hand-made sheets often carry a title or a note above the header


def normal(text) -> str:
    return re.sub(r"[\s_\-]+", "_", str(text).strip().lower())


@dataclass(frozen=True)
class CellError:
    """A cell holding a spreadsheet error (#N/A, #REF!...): never a prompt, though openpyxl reads it as text."""

    code: str

    def __str__(self) -> str:
        return self.code


def _cell_values(row) -> tuple:
    return tuple(CellError(str(c.value)) if c.data_type == "e" else c.value for c in row)


@dataclass(frozen=True)
class Column:
    index: int  # 0-based
    header: str  # as written in the sheet

    @property
    def name(self) -> str:
        from openpyxl.utils import get_column_letter

        return f"column {self.header} ({get_column_letter(self.index + 1)})"


@dataclass
class Table:
    where: str  # "<file> sheet '<title>'"
    header_row: int  # 1-based row number of the header
    columns: Dict[str, Column]  # field or level name -> column
    rows: List[Tuple[int, tuple]]  # (1-based row number, cell values) below the header

    def at(self, rownum: int, column: Optional[Column] = None) -> str:
        return f"{self.where} row {rownum}" + (f" {column.name}" if column else "")


def check_mapping(mapping: Dict[str, str], levels: Sequence[str]) -> Dict[str, str]:
    known = [*FIELDS, *levels]
    for field, header in mapping.items():
        if field not in known:
            raise UserError(f"column mapping {field}={header}: '{field}' is not a field; map one of "
                            f"{', '.join(known)} (e.g. --map prompt=Texto)")
    return mapping


def resolve_columns(values: Sequence, mapping: Dict[str, str], levels: Sequence[str]) -> Tuple[Dict[str, Column], Optional[str]]:
    """Columns of one candidate header row, and the problem with it (two columns meaning the same) or None."""
    mapped = {normal(header): field for field, header in mapping.items()}
    level_names = {normal(lvl): lvl for lvl in [*STANDARD_LEVELS, *levels]}
    columns: Dict[str, Column] = {}
    for index, value in enumerate(values):
        if value is None or not str(value).strip():
            continue
        key = normal(value)
        name = mapped.get(key)
        if name is None:
            name = key if key in FIELDS else ALIASES.get(key) or level_names.get(key)
            if name in mapping:  # the user named another column for this field: this one is not it
                name = None
        if name is None:
            continue
        column = Column(index, str(value).strip())
        if name in columns:
            return columns, f"{columns[name].name} and {column.name} both read as {name}; rename or map one"
        columns[name] = column
    return columns, None


def load_rows(excel: Path, sheet: Optional[str]) -> List[Tuple[str, List[tuple]]]:
    """(sheet title, rows of cell values) for the named sheet, or for every sheet in workbook order."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not excel.is_file():
        raise UserError(f"{excel}: spreadsheet not found; check prompts.spreadsheet (or --excel)")
    try:
        # data_only=False: a cell holding '=...' is read as the text written in it, never as a computed value
        book = openpyxl.load_workbook(excel, read_only=True, data_only=False)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, InvalidFileException) as exc:
        raise UserError(f"{excel}: cannot open as an .xlsx workbook ({type(exc).__name__}); save it as .xlsx") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UserError(f"{excel}: no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)}); fix the sheet name")
        sheets = [book[sheet]] if sheet is not None else book.worksheets
        return [(ws.title, [_cell_values(row) for row in ws.iter_rows()]) for ws in sheets]
    finally:
        book.close()


def find_table(excel: Path, sheet: Optional[str], mapping: Dict[str, str], levels: Sequence[str]) -> Table:
    """The first header row (within HEADER_SEARCH_ROWS) holding a question_id column, on the chosen sheet."""
    check_mapping(mapping, levels)
    candidates = load_rows(excel, sheet)
    for title, rows in candidates:
        where = f"{excel} sheet '{title}'"
        for number, values in enumerate(rows[:HEADER_SEARCH_ROWS], start=1):
            columns, problem = resolve_columns(values, mapping, levels)
            if "question_id" not in columns:
                continue
            if problem:
                raise UserError(f"{where} row {number}: {problem}")
            missing = [f"{field}={header}" for field, header in mapping.items() if field not in columns]
            if missing:
                raise UserError(f"{where} row {number}: no column for the mapping {', '.join(missing)} "
                                f"(headers: {', '.join(str(v) for v in values if v is not None)})")
            return Table(where, number, columns, list(enumerate(rows[number:], start=number + 1)))
    title = candidates[0][0]
    others = f" (no other sheet has one either: {', '.join(t for t, _ in candidates)})" if len(candidates) > 1 else ""
    raise UserError(f"{excel} sheet '{title}' row 1: missing column question_id in the first {HEADER_SEARCH_ROWS} "
                    f"rows{others}; name your header with --map question_id=HEADER (prompts.columns)")
