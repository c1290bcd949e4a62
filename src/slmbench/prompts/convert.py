"""Prompt spreadsheet (xlsx) -> one prompt CSV per category (layout.prompts_csv_name; slmbench.prompt_rows).

Reads the wide layout (question_id, category, L0, L1, ...) or the long layout (question_id, category,
level, prompt), detected from the header (see sheet.py for how the sheet and its columns are found).
Every cell is checked before anything is written, each error naming the sheet, row and column; each CSV
is then written atomically. Rows of categories (or standard levels) the config does not list are left
out: that is how a user runs a subset of the study from the full sheet.

Prompt variants (prompts.variants: k wordings of every question's levels): an optional `variant` column
(0, 1, ...; empty or absent is 0) tells a question's rows apart; (question_id, variant) is unique. Given k,
every question must have variants 0..k-1 at every level (a sheet with fewer is an error: the study would
silently run fewer wordings than configured), and rows of higher variants are left out with a note, like
unlisted categories.
"""

from __future__ import annotations

import datetime
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import UserError
from ..layout import ALL_PROMPTS_CSV, prompts_csv_name
from ..prompt_rows import PromptRow, write_prompt_rows
from ..questions import MAX_CATEGORY_LENGTH, MAX_QUESTION_ID, read_questions
from .sheet import STANDARD_LEVELS, CellError, Column, Formula, Merged, Table, find_table, normal

DEFAULT_LEVELS = STANDARD_LEVELS
SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")  # categories become file names


@dataclass
class SheetPrompt:
    question_id: int
    category: str
    level: str
    prompt: str
    row: int
    where: str  # sheet, row and column the prompt came from
    variant: int = 0  # which wording of the question's levels (prompts.variants)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "TRUE/FALSE value"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return "date or time"
    if isinstance(value, CellError):
        return "spreadsheet error value"
    return type(value).__name__


def _unreadable(value, where: str) -> None:
    """A formula without a saved value, or the empty part of a merged range: one line saying how to fix it."""
    if isinstance(value, Formula):
        raise UserError(f"{where}: cell {value.coordinate} holds the formula {value.text} and the file has no value "
                        f"saved for it (written by a program that does not calculate); open and save the workbook "
                        f"in Excel or LibreOffice, or paste the cells as values")
    if isinstance(value, Merged):
        raise UserError(f"{where}: cell {value.coordinate} is part of the merged cells {value.merged_range}, which "
                        f"keep their value only in the first cell; unmerge {value.merged_range} and fill every row")


def _text(value, where: str) -> str:
    _unreadable(value, where)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UserError(f"{where}: expected text, found a {_kind(value)} ({value}); format the cell as text")
    return value


def _variant(value, where: str) -> int:
    """A variant cell: a whole number >= 0; an empty cell is variant 0 (a question's only wording)."""
    _unreadable(value, where)
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() and value >= 0:
        return int(value)
    raise UserError(f"{where}: '{value}' is not a variant number (0, 1, ...); number a question's wordings from 0")


def _question_id(value, where: str) -> int:
    _unreadable(value, where)
    qid = None
    if isinstance(value, str) and value.strip().isdigit():
        qid = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        qid = value
    elif isinstance(value, float) and value.is_integer():
        qid = int(value)
    if qid is None:
        raise UserError(f"{where}: '{value}' is not a question id (a whole number)")
    if not 0 <= qid <= MAX_QUESTION_ID:
        raise UserError(f"{where}: question id {value} is out of range; use a whole number from 0 to {MAX_QUESTION_ID}")
    return qid


class RowReader:
    """Turns the table's rows into SheetPrompts, checking each cell it reads."""

    def __init__(self, table: Table, levels: Sequence[str], questions: Dict[int, dict]):
        self.table, self.levels, self.questions = table, list(levels), questions
        cols = table.columns
        self.long = "level" in cols and "prompt" in cols
        self.left_out: Dict[str, int] = {}
        self._check_layout()

    def _check_layout(self) -> None:
        cols, head = self.table.columns, self.table.at(self.table.header_row)
        if self.long:
            return
        if "level" in cols or "prompt" in cols:
            absent = "prompt" if "level" in cols else "level"
            raise UserError(f"{head}: missing column {absent} (the long layout needs question_id, category, level, "
                            f"prompt)")
        present = [lvl for lvl in self.levels if lvl in cols]
        if not present:
            raise UserError(f"{head}: missing columns: level and prompt (long layout) or {', '.join(self.levels)} "
                            f"(wide layout); map other headers with --map FIELD=HEADER")
        missing = [lvl for lvl in self.levels if lvl not in cols]
        if missing:
            raise UserError(f"{head}: missing column(s) {', '.join(missing)} (the wide layout needs one column per "
                            f"configured level: {', '.join(self.levels)})")

    def cell(self, values: tuple, column: Optional[Column]):
        return values[column.index] if column is not None and column.index < len(values) else None

    def category(self, values: tuple, rownum: int, qid: int) -> str:
        column = self.table.columns.get("category")
        where = self.table.at(rownum, column)
        name = _text(self.cell(values, column), where).strip()
        if len(name) > MAX_CATEGORY_LENGTH:
            raise UserError(f"{where}: category name '{name[:20]}...' is {len(name)} characters long; use at most "
                            f"{MAX_CATEGORY_LENGTH} (it becomes a file name)")
        known = self.questions.get(qid, {}).get("category")
        if not name:
            if known is None:
                raise UserError(f"{where}: no category, and no questions file to take it "
                                f"from; fill the column or pass --questions")
            return known
        if known is not None and name != known:
            raise UserError(f"{where}: unknown category '{name}' for question {qid} (question.jsonl says '{known}'); "
                            f"fix the cell")
        return name

    def read(self, categories: Optional[Sequence[str]]) -> List[SheetPrompt]:
        prompts: List[SheetPrompt] = []
        for rownum, values in self.table.rows:
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            id_col = self.table.columns["question_id"]
            qid = _question_id(self.cell(values, id_col), self.table.at(rownum, id_col))
            if self.questions and qid not in self.questions:
                raise UserError(f"{self.table.at(rownum, id_col)}: question {qid} is not in the questions file; "
                                f"fix the id or use the matching question.jsonl")
            category = self.category(values, rownum, qid)
            variant_col = self.table.columns.get("variant")
            variant = _variant(self.cell(values, variant_col), self.table.at(rownum, variant_col))
            if categories is not None and category not in categories:
                self.left_out[category] = self.left_out.get(category, 0) + 1
                continue
            if not SAFE_NAME.match(category):
                raise UserError(f"{self.table.at(rownum, self.table.columns.get('category'))}: category '{category}' "
                                f"may contain only letters, digits, '.', '_' and '-'")
            found = (self._long_row(values, rownum, qid, category) if self.long
                     else self._wide_row(values, rownum, qid, category))
            prompts.extend(SheetPrompt(p.question_id, p.category, p.level, p.prompt, p.row, p.where, variant)
                           for p in found)
        return prompts

    def _prompt(self, values, rownum, column, qid, category, level) -> SheetPrompt:
        where = self.table.at(rownum, column)
        text = _text(self.cell(values, column), where)
        if not text.strip():
            raise UserError(f"{where}: empty prompt for question {qid} level {level}; write the prompt or delete "
                            f"the row")
        return SheetPrompt(qid, category, level, text, rownum, where)

    def _wide_row(self, values, rownum, qid, category) -> List[SheetPrompt]:
        return [self._prompt(values, rownum, self.table.columns[lvl], qid, category, lvl) for lvl in self.levels]

    def _long_row(self, values, rownum, qid, category) -> List[SheetPrompt]:
        column = self.table.columns["level"]
        where = self.table.at(rownum, column)
        written = _text(self.cell(values, column), where).strip()
        spelled = {normal(lvl): lvl for lvl in [*STANDARD_LEVELS, *self.levels]}
        level = spelled.get(normal(written)) if written else None
        if level is None:
            raise UserError(f"{where}: unknown level '{written}' (configured: {', '.join(self.levels)}); fix the cell")
        if level not in self.levels:
            return []  # a standard level the config does not run
        return [self._prompt(values, rownum, self.table.columns["prompt"], qid, category, level)]


def check_prompts(prompts: List[SheetPrompt], table: Table, levels: Sequence[str],
                  categories: Optional[Sequence[str]]) -> None:
    """Sheet-wide rules: one prompt per (question, variant, level), one category per question, every level of
    every (question, variant), every category."""
    first: Dict[tuple, SheetPrompt] = {}
    category_of: Dict[int, SheetPrompt] = {}
    rows_of: Dict[tuple, List[int]] = {}
    for p in prompts:
        earlier = first.setdefault((p.question_id, p.variant, p.level), p)
        if earlier is not p:
            raise UserError(_duplicate(table, p, earlier))
        seen = category_of.setdefault(p.question_id, p)
        if seen.category != p.category:
            raise UserError(f"{table.at(p.row, table.columns.get('category'))}: category '{p.category}' but row "
                            f"{seen.row} gives question {p.question_id} category '{seen.category}'; use one")
        rows_of.setdefault((p.question_id, p.variant), []).append(p.row)
    have: Dict[tuple, set] = {}
    for p in prompts:
        have.setdefault((p.question_id, p.variant), set()).add(p.level)
    for (qid, variant), got in sorted(have.items()):
        missing = [lvl for lvl in levels if lvl not in got]
        if missing:
            rows = sorted(set(rows_of[(qid, variant)]))
            column = table.columns.get("level")
            which = f"question {qid}" + (f" variant {variant}" if variant else "")
            raise UserError(f"{table.where} row(s) {', '.join(map(str, rows))}{' ' + column.name if column else ''}: "
                            f"{which} has no prompt for level(s) {', '.join(missing)}; every question needs "
                            f"every configured level")
    if categories is not None:
        present = {p.category for p in prompts}
        absent = [c for c in categories if c not in present]
        if absent:
            column = table.columns.get("category")
            place = column.name if column else "categories taken from the questions file"
            raise UserError(f"{table.where} {place}: no prompts for configured category(ies) {', '.join(absent)}; add "
                            f"them to the sheet or remove them from the config's categories")


def _duplicate(table: Table, p: SheetPrompt, earlier: SheetPrompt) -> str:
    """One line naming both rows. In the wide layout a row is one (question, variant): a repeated pair is a
    repeated row; in the long layout a row is one level of it."""
    which = f"question {p.question_id}" + (f" variant {p.variant}" if p.variant else "")
    if earlier.row != p.row and "level" not in table.columns:
        if "variant" not in table.columns:
            return (f"{table.where} rows {earlier.row} and {p.row}: duplicate question_id {p.question_id}; keep one "
                    f"row per question (or number its wordings 0, 1 ... in a variant column)")
        return (f"{table.where} rows {earlier.row} and {p.row}: duplicate (question_id, variant) ({p.question_id}, "
                f"{p.variant}); keep one row per question and variant (number other wordings 1, 2 ... in the "
                f"variant column)")
    return f"{p.where}: duplicate prompt for {which} level {p.level} (first at row {earlier.row}); keep one"


def select_variants(prompts: List[SheetPrompt], table: Table, variants: Optional[int]) -> List[SheetPrompt]:
    """The prompts of variants 0..k-1 (prompts.variants = k); None: every variant the sheet holds. A question
    without one of the k variants is an error naming it; higher variants are left out with a note."""
    if variants is None:
        return prompts
    held: Dict[int, set] = {}
    for p in prompts:
        held.setdefault(p.question_id, set()).add(p.variant)
    for qid, got in sorted(held.items()):
        lacking = [v for v in range(variants) if v not in got]
        if lacking:
            column = table.columns.get("variant")
            place = column.name if column else "(no variant column: every row is variant 0)"
            raise UserError(f"{table.where} {place}: question {qid} has no prompts for variant(s) "
                            f"{', '.join(map(str, lacking))} but prompts.variants is {variants}; add a row per "
                            f"variant (0 to {variants - 1}) or lower prompts.variants")
    extra = sorted({p.variant for p in prompts if p.variant >= variants})
    if extra:
        print(f"slmbench: note: left out the sheet's variant(s) {', '.join(map(str, extra))}: prompts.variants is "
              f"{variants} (variants 0 to {variants - 1} run)", file=sys.stderr)
    return [p for p in prompts if p.variant < variants]


def warn_about_subset(reader: RowReader, prompts: List[SheetPrompt], questions: Dict[int, dict],
                      categories: Optional[Sequence[str]]) -> None:
    """Not errors (a subset is a user's choice), but worth a line: what was left out, what the sheet lacks."""
    if reader.left_out:
        counts = ", ".join(f"{category} ({n} rows)" for category, n in sorted(reader.left_out.items()))
        print(f"slmbench: note: left out the categories not in the config's categories: {counts}", file=sys.stderr)
    have = {p.question_id for p in prompts}
    lacking = sorted(q for q, item in questions.items()
                     if q not in have and (categories is None or item["category"] in categories))
    if lacking and have:
        print(f"slmbench: warning: {len(lacking)} question(s) of the questions file have no prompts in the sheet "
              f"(ids {', '.join(map(str, lacking[:10]))}{' ...' if len(lacking) > 10 else ''})", file=sys.stderr)


def write_csv(path: Path, prompts: List[SheetPrompt]) -> None:
    write_prompt_rows([PromptRow(p.question_id, p.category, p.level, p.prompt, p.variant) for p in prompts], path)


def read_prompts(excel, *, sheet=None, mapping=None, questions_file=None, levels=None,
                 categories=None, variants: Optional[int] = None) -> List[SheetPrompt]:
    """Every prompt the sheet holds for the configured levels, categories and variants (0..variants-1; None:
    all the sheet holds), fully validated, in study order (question, variant, level)."""
    levels = list(levels or DEFAULT_LEVELS)
    questions = read_questions(questions_file)
    table = find_table(Path(excel), sheet, dict(mapping or {}), levels)
    reader = RowReader(table, levels, questions)
    prompts = reader.read(categories)
    check_prompts(prompts, table, levels, categories)
    prompts = select_variants(prompts, table, variants)
    warn_about_subset(reader, prompts, questions, categories)
    order = {lvl: i for i, lvl in enumerate(levels)}
    return sorted(prompts, key=lambda p: (p.question_id, p.variant, order[p.level]))


def convert_spreadsheet(excel, outdir, *, split=True, sheet=None, mapping=None, questions_file=None,
                        levels=None, categories=None, variants: Optional[int] = None) -> List[Path]:
    """Write `<outdir>/<layout.prompts_csv_name(category)>` per category (or one layout.ALL_PROMPTS_CSV
    without `split`); nothing is written unless the whole sheet is valid."""
    prompts = read_prompts(excel, sheet=sheet, mapping=mapping, questions_file=questions_file, levels=levels,
                           categories=categories, variants=variants)
    if not prompts:
        raise UserError(f"{excel}: no prompts below the header; fill the sheet")
    outdir = Path(outdir)
    if not split:
        path = outdir / ALL_PROMPTS_CSV
        write_csv(path, prompts)
        return [path]
    names = list(categories) if categories is not None else list(dict.fromkeys(p.category for p in prompts))
    written = []
    for category in names:
        path = outdir / prompts_csv_name(category)
        write_csv(path, [p for p in prompts if p.category == category])
        written.append(path)
    return written
