"""The prompt row: one question at one prompt level, as a category's prompt CSV (layout.prompts_csv) holds it.

`slmbench prompts convert` writes these files from the spreadsheet; inference, the judge, the token report
and the validation read them. This module is the only place that spells the columns, reads the file
(checked, naming the file, row and column) and writes it (atomically).

Stdlib only and Python 3.10 compatible: the inference step reads prompts under JetPack 6's system Python.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, List, Optional

from .errors import UserError
from .records import atomic_output

FIX = "regenerate the prompt CSVs from the spreadsheet (slmbench prompts convert)"


@dataclass(frozen=True)
class PromptRow:
    question_id: int  # the MT-Bench question id, the same at every level
    category: str
    level: str  # L0 (the original question), L1-L3 (more context), P (padding)
    prompt: str  # the text the model is given, before its chat template
    variant: int = 0  # which wording of the question's levels (prompts.variants); 0 is the only one when k = 1


PROMPT_COLUMNS = tuple(f.name for f in fields(PromptRow))
# Columns a prompt CSV may lack: one written before variants existed holds variant 0 only.
OPTIONAL_COLUMNS = ("variant",)


def _where(path, row: int, line: int) -> str:
    """`<file> row N` (the header is row 1), with the line when a prompt with newlines moved it."""
    return f"{path} row {row}" + (f" (line {line})" if line != row else "")


def _whole_number(text: str) -> Optional[int]:
    """int(text) for a whole number >= 0 ("" counts as 0: an empty cell is the only wording), else None."""
    text = text.strip()
    if not text:
        return 0
    return int(text) if re.fullmatch(r"[0-9]+", text) else None


def read_prompt_rows(path: str | os.PathLike) -> List[PromptRow]:
    """Every row of a prompt CSV, checked. A byte-order mark (a CSV saved by Excel) is allowed; extra columns
    are ignored. Bad input stops with a UserError naming the file, the row and the column."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: prompt CSV not found; {FIX}")
    rows: List[PromptRow] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, [])
            missing = [c for c in PROMPT_COLUMNS if c not in header and c not in OPTIONAL_COLUMNS]
            if missing:
                raise UserError(f"{path} row 1: missing column(s) {', '.join(missing)}; not a prompts CSV, {FIX}")
            index = {c: header.index(c) for c in PROMPT_COLUMNS if c in header}
            number, line = 1, reader.line_num
            for cells in reader:
                start, line = line + 1, reader.line_num
                if not cells:  # a blank line
                    continue
                number += 1
                where = _where(path, number, start)
                if len(cells) != len(header):
                    raise UserError(f"{where}: {len(cells)} cells where the header has {len(header)}; {FIX}")
                values = {"variant": "0", **{c: cells[i] for c, i in index.items()}}
                for column in ("category", "level"):
                    if not values[column].strip():
                        raise UserError(f"{where}, column {column}: empty; {FIX}")
                try:
                    question_id = int(values["question_id"].strip())
                except ValueError:
                    raise UserError(f"{where}, column question_id: {values['question_id']!r} is not an integer; "
                                    f"fix the prompt spreadsheet") from None
                variant = _whole_number(values["variant"])
                if variant is None:
                    raise UserError(f"{where}, column variant: {values['variant']!r} is not a whole number (0, 1 ...); "
                                    f"fix the prompt spreadsheet")
                rows.append(PromptRow(question_id, values["category"], values["level"], values["prompt"], variant))
        except (csv.Error, UnicodeDecodeError) as exc:
            detail = " ".join(str(exc).split())
            raise UserError(f"{path}: not a readable CSV (line {reader.line_num}: {detail}); {FIX}") from None
    return rows


def write_prompt_rows(rows: Iterable[PromptRow], path: str | os.PathLike) -> Path:
    """Write a prompt CSV (header PROMPT_COLUMNS, one line ending per record), atomically."""
    with atomic_output(path) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(PROMPT_COLUMNS)
        for row in rows:
            writer.writerow([row.question_id, row.category, row.level, row.prompt, row.variant])
    return Path(path)
