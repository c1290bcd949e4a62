"""Find the prompt table in a hand-made workbook: which sheet, which header row, which column is what.

Headers are matched ignoring case, spaces, underscores and hyphens ("Question ID" is question_id); a
header in another language is named with a mapping field -> header ("prompt" -> "Texto"). The header
may sit below a title row; without a sheet name, the first visible sheet with a question_id column is
used (a hidden sheet only when named). Columns that are neither a field nor a level (notes, another
system's ids) are ignored.

Cells are read as a person sees them in Excel: a formula gives the value Excel saved with the file; a
formula without a saved value (a file written by a program that does not calculate) and the empty cells
of a merged range are kept as markers, so that the converter can name them when it reads one.
"""

from __future__ import annotations

import re
import sys
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


@dataclass(frozen=True)
class Formula:
    """A formula cell whose file holds no computed value: what Excel would show is unknown here."""

    coordinate: str
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Merged:
    """A cell inside a merged range other than its first: empty in the file, whatever Excel displays."""

    coordinate: str
    merged_range: str

    def __str__(self) -> str:
        return ""


def _cell_value(cell, saved_ws, merged_ranges):
    from openpyxl.cell.cell import MergedCell

    if isinstance(cell, MergedCell):
        owner = next((str(r) for r in merged_ranges if cell.coordinate in r), cell.coordinate)
        return Merged(cell.coordinate, owner)
    if cell.data_type == "e":
        return CellError(str(cell.value))
    if cell.data_type == "f":
        saved = saved_ws.cell(row=cell.row, column=cell.column)
        if saved.value is None:
            return Formula(cell.coordinate, str(cell.value))
        return CellError(str(saved.value)) if saved.data_type == "e" else saved.value
    return cell.value


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


def resolve_columns(values: Sequence, mapping: Dict[str, str],
                    levels: Sequence[str]) -> Tuple[Dict[str, Column], Optional[str]]:
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


def load_rows(excel: Path, sheet: Optional[str]) -> List[Tuple[str, bool, List[tuple]]]:
    """(sheet title, hidden?, rows of cell values) for the named sheet, or for every sheet in workbook order."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not excel.is_file():
        raise UserError(f"{excel}: spreadsheet not found; check prompts.spreadsheet (or --excel), or set "
                        f"prompts.source: generate (the format: data/generated_prompts.example.xlsx)")
    try:
        # read twice: the cells as written (formulas, merged ranges) and the values Excel saved for formulas
        book = openpyxl.load_workbook(excel, data_only=False)
        saved_book = openpyxl.load_workbook(excel, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, InvalidFileException) as exc:
        raise UserError(f"{excel}: cannot open as an .xlsx workbook ({type(exc).__name__}); save it as .xlsx") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UserError(f"{excel}: no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)}); fix the sheet name")
        sheets = [book[sheet]] if sheet is not None else book.worksheets
        loaded = []
        for ws in sheets:
            ranges = list(ws.merged_cells.ranges)
            rows = [tuple(_cell_value(c, saved_book[ws.title], ranges) for c in row) for row in ws.iter_rows()]
            loaded.append((ws.title, ws.sheet_state != "visible", rows))
        return loaded
    finally:
        book.close()
        saved_book.close()


def find_table(excel: Path, sheet: Optional[str], mapping: Dict[str, str], levels: Sequence[str]) -> Table:
    """The first header row (within HEADER_SEARCH_ROWS) holding a question_id column, on the chosen sheet."""
    check_mapping(mapping, levels)
    candidates = load_rows(excel, sheet)
    hidden_tables = []
    for title, hidden, rows in candidates:
        where = f"{excel} sheet '{title}'"
        if hidden and sheet is None:  # a stale hidden sheet is never used unless named
            if any("question_id" in resolve_columns(v, mapping, levels)[0] for v in rows[:HEADER_SEARCH_ROWS]):
                hidden_tables.append(title)
            continue
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
            if hidden_tables:
                print(f"slmbench: note: {excel}: using the visible sheet '{title}'; the hidden sheet(s) "
                      f"{', '.join(repr(t) for t in hidden_tables)} also hold a prompt table and were skipped "
                      f"(name one with prompts.sheet to use it)", file=sys.stderr)
            return Table(where, number, columns, list(enumerate(rows[number:], start=number + 1)))
    if hidden_tables:
        raise UserError(f"{excel}: the only prompt table is on the hidden sheet '{hidden_tables[0]}'; unhide it, or "
                        f"choose it with prompts.sheet: {hidden_tables[0]} (--sheet '{hidden_tables[0]}')")
    title = candidates[0][0]
    names = ", ".join(t for t, _, _ in candidates)
    others = f" (no other sheet has one either: {names})" if len(candidates) > 1 else ""
    raise UserError(f"{excel} sheet '{title}' row 1: missing column question_id in the first {HEADER_SEARCH_ROWS} "
                    f"rows{others}; name your header with --map question_id=HEADER (prompts.columns)")
