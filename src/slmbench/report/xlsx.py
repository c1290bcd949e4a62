"""A thin layer over xlsxwriter: typed cells (text is always written as text, never as a formula),
tables with bold frozen headers, filters, widths, number formats and colour scales."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import xlsxwriter

from ..records import atomic_output

MAX_TEXT = 32_000  # Excel holds 32,767 characters per cell
NUMBER_FORMATS = {
    "int": "#,##0", "f1": "0.0", "f2": "0.00", "f3": "0.000", "f4": "0.0000",
    "p": '[<0.0001]"<0.0001";0.0000', "pct": "0.0%", "text": None, "wrap": None,
}
SCALES = {  # colour scale per "what is good"
    "high": {"type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"},
    "low": {"type": "3_color_scale", "min_color": "#63BE7B", "mid_color": "#FFEB84", "max_color": "#F8696B"},
    "neutral": {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#5B9BD5"},
}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    fmt: str = "text"  # a key of NUMBER_FORMATS
    width: Optional[float] = None  # None: fit the header and the values
    scale: Optional[str] = None  # a key of SCALES


def is_blank(value) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and not math.isfinite(value)


class Book:
    """One workbook built in memory and written atomically by `save`."""

    def __init__(self):
        self._buffer = io.BytesIO()
        # Belt and braces: cells are written by type below, and these options stop xlsxwriter from ever
        # turning a string such as "=cmd|..." or "http://..." into a formula or a link.
        self.wb = xlsxwriter.Workbook(self._buffer, {
            "in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        self._names: set = set()
        self.formats = {name: self.wb.add_format({"num_format": f} if f else {}) for name, f in NUMBER_FORMATS.items()}
        self.formats["wrap"] = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self.formats["header"] = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                                     "text_wrap": True, "valign": "top"})
        self.formats["title"] = self.wb.add_format({"bold": True, "font_size": 12})
        self.formats["bold"] = self.wb.add_format({"bold": True, "valign": "top"})

    def sheet(self, name: str):
        """A worksheet with a legal, unique name (Excel: 31 characters, no []:*?/\\, case-insensitive)."""
        base = _BAD_SHEET_CHARS.sub("_", name).strip("'")[:31] or "sheet"
        candidate, n = base, 2
        while candidate.lower() in self._names:
            suffix = f"~{n}"
            candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
        self._names.add(candidate.lower())
        return self.wb.add_worksheet(candidate)

    def save(self, path) -> Path:
        self.wb.close()
        with atomic_output(path, "wb", encoding=None) as fh:
            fh.write(self._buffer.getvalue())
        return Path(path)


def write_cell(ws, row: int, col: int, value, fmt=None) -> None:
    """Numbers as numbers, missing as an empty cell, everything else as text (never a formula)."""
    if is_blank(value):
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, (bool, np.bool_)):
        ws.write_string(row, col, "yes" if value else "no", fmt)
    elif isinstance(value, (int, float, np.integer, np.floating)):
        ws.write_number(row, col, float(value), fmt)
    else:
        text = str(value)
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + " [truncated: Excel cell limit; full text in exported_responses]"
        ws.write_string(row, col, text, fmt)


def _width(col: Col, values: np.ndarray) -> float:
    if col.width:
        return col.width
    longest = max((len(line) for line in col.header.split()), default=4)
    sample = values[:200]
    if col.fmt in ("text", "wrap"):
        longest = max([longest] + [len(str(v)) for v in sample if not is_blank(v)])
    else:
        longest = max(longest, 9)
    return float(min(max(longest + 2, 6), 60))


def write_table(book: Book, ws, frame: pd.DataFrame, cols: Sequence[Col], top: int = 0,
                freeze: bool = True, autofilter: bool = True, freeze_cols: int = 0) -> int:
    """Header row + one row per frame row at `top`; returns the first row after the table."""
    header = book.formats["header"]
    for c, col in enumerate(cols):
        ws.write_string(top, c, col.header, header)
    values = frame.reindex(columns=[col.key for col in cols]).to_numpy(dtype=object)
    formats = [book.formats[col.fmt] for col in cols]
    for r, row in enumerate(values, start=top + 1):
        for c, value in enumerate(row):
            write_cell(ws, r, c, value, formats[c])
    last = top + len(values)
    for c, col in enumerate(cols):
        ws.set_column(c, c, _width(col, values[:, c] if len(values) else np.array([])),
                      book.formats["wrap"] if col.fmt == "wrap" else None)
        if col.scale and len(values):
            ws.conditional_format(top + 1, c, last, c, SCALES[col.scale])
    if freeze:
        ws.freeze_panes(top + 1, freeze_cols)
    if autofilter and cols:
        ws.autofilter(top, 0, max(last, top), len(cols) - 1)
    return last + 1


def write_notes(book: Book, ws, notes: Iterable[Tuple[str, str]], top: int = 0, title: Optional[str] = None) -> int:
    """A two-column block (topic, text); returns the first row after it."""
    row = top
    if title:
        ws.write_string(row, 0, title, book.formats["title"])
        row += 1
    for topic, text in notes:
        write_cell(ws, row, 0, topic, book.formats["bold"])
        write_cell(ws, row, 1, text, book.formats["wrap"])
        row += 1
    return row


def about_sheet(book: Book, notes: List[Tuple[str, str]]) -> None:
    ws = book.sheet("about")
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 110)
    write_notes(book, ws, notes, title="About this workbook")
