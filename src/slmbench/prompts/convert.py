"""Prompt spreadsheet (xlsx) -> one CSV per category (question_id, category, level, prompt).

Accepts the wide layout (question_id, category, L0, L1, ...) and the long layout (question_id, category,
level, prompt) on any sheet, with a header mapping for other (e.g. non-English) column names. Everything
is validated before anything is written; each CSV is written atomically.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import UserError
from ..records import atomic_output

FIELDS = ("question_id", "category", "level", "prompt")
DEFAULT_LEVELS = ("L0", "L1", "L2", "L3", "P")


def _headers(row: Sequence, mapping: Dict[str, str]) -> Dict[str, int]:
    """Column index by canonical field/level name; `mapping` maps canonical name -> header in the sheet."""
    reverse = {header.strip().lower(): field for field, header in mapping.items()}
    columns: Dict[str, int] = {}
    for index, cell in enumerate(row):
        if cell is None:
            continue
        name = str(cell).strip()
        canonical = reverse.get(name.lower(), name)
        lowered = canonical.lower()
        columns[lowered if lowered in FIELDS else canonical] = index
    return columns


def _text(value, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UserError(f"{where}: expected text, found {type(value).__name__} {value!r}; format the cell as text")
    return value


def read_questions(path: Optional[str | Path]) -> Dict[int, dict]:
    if not path:
        return {}
    questions = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    item = json.loads(line)
                    questions[int(item["question_id"])] = item
                except (ValueError, KeyError, TypeError):
                    raise UserError(f"{path}:{lineno}: not a question.jsonl line (question_id, category, turns)") from None
    return questions


def read_sheet_rows(excel: Path, sheet: Optional[str], mapping: Dict[str, str], levels: Sequence[str],
                    questions: Dict[int, dict]) -> List[dict]:
    """Rows of (question_id, category, level, prompt) from either layout, validated cell by cell."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(excel, read_only=True, data_only=False)
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"{excel}: cannot open as an xlsx workbook ({exc})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UserError(f"{excel}: no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)}); fix --sheet")
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
    finally:
        book.close()
    name = f"{excel} sheet '{ws.title}'"
    if not rows:
        raise UserError(f"{name}: empty sheet; the first row must be the header")
    cols = _headers(rows[0], mapping)
    long = "level" in cols and "prompt" in cols
    level_cols = [lvl for lvl in levels if lvl in cols]
    if "question_id" not in cols:
        raise UserError(f"{name} row 1: missing column question_id (map another header with --map question_id=HEADER)")
    if not long and not level_cols:
        raise UserError(f"{name} row 1: missing columns: either level+prompt (long layout) or {', '.join(levels)} (wide)")
    if not long:
        missing = [lvl for lvl in levels if lvl not in cols]
        if missing:
            raise UserError(f"{name} row 1: missing level column(s) {', '.join(missing)}")
    out: List[dict] = []
    for rownum, row in enumerate(rows[1:], start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        cell = lambda field: row[cols[field]] if cols.get(field) is not None and cols[field] < len(row) else None  # noqa: E731
        qid_raw = cell("question_id")
        try:
            qid = int(qid_raw)
            if isinstance(qid_raw, float) and qid_raw != qid:
                raise ValueError
        except (TypeError, ValueError):
            raise UserError(f"{name} row {rownum} column question_id: {qid_raw!r} is not an integer id") from None
        if questions and qid not in questions:
            raise UserError(f"{name} row {rownum} column question_id: {qid} is not in the questions file")
        category = _text(cell("category"), f"{name} row {rownum} column category").strip() if "category" in cols else ""
        if not category:
            if qid not in questions:
                raise UserError(f"{name} row {rownum} column category: empty and no questions file to take it from")
            category = questions[qid]["category"]
        if long:
            level = _text(cell("level"), f"{name} row {rownum} column level").strip()
            out.append(dict(question_id=qid, category=category, level=level,
                            prompt=_text(cell("prompt"), f"{name} row {rownum} column prompt"), _where=f"{name} row {rownum}"))
        else:
            for level in levels:
                out.append(dict(question_id=qid, category=category, level=level,
                                prompt=_text(cell(level), f"{name} row {rownum} column {level}"),
                                _where=f"{name} row {rownum} column {level}"))
    return out


def validate_rows(rows: List[dict], levels: Sequence[str], categories: Optional[Sequence[str]], source: str) -> None:
    seen: Dict[tuple, str] = {}
    for row in rows:
        where = row["_where"]
        if row["level"] not in levels:
            raise UserError(f"{where}: unknown level '{row['level']}' (configured: {', '.join(levels)})")
        if not row["prompt"].strip():
            raise UserError(f"{where}: empty prompt for question {row['question_id']} level {row['level']}")
        key = (row["question_id"], row["level"])
        if key in seen:
            raise UserError(f"{where}: duplicate prompt for question {key[0]} level {key[1]} (also {seen[key]})")
        seen[key] = where
    by_question: Dict[int, set] = {}
    for row in rows:
        by_question.setdefault(row["question_id"], set()).add(row["level"])
    for qid, have in sorted(by_question.items()):
        missing = [lvl for lvl in levels if lvl not in have]
        if missing:
            raise UserError(f"{source}: question {qid} has no prompt for level(s) {', '.join(missing)}")
    if categories is not None:
        present = {row["category"] for row in rows}
        absent = [c for c in categories if c not in present]
        if absent:
            raise UserError(f"{source}: no prompts for configured category(ies) {', '.join(absent)}; "
                            f"fix the sheet or the config's categories")


def convert_spreadsheet(excel, outdir, *, split=True, sheet=None, mapping=None, questions_file=None,
                        levels=None, categories=None) -> List[Path]:
    excel, outdir = Path(excel), Path(outdir)
    levels = list(levels or DEFAULT_LEVELS)
    questions = read_questions(questions_file)
    rows = read_sheet_rows(excel, sheet, dict(mapping or {}), levels, questions)
    for row in rows:
        if not all(c.isalnum() or c in "._-" for c in row["category"]):
            raise UserError(f"{row['_where']}: category '{row['category']}' may contain only letters, digits, . _ -")
    validate_rows(rows, levels, categories, str(excel))
    if categories is not None:
        rows = [r for r in rows if r["category"] in categories]
    order = {lvl: i for i, lvl in enumerate(levels)}
    rows.sort(key=lambda r: (r["question_id"], order[r["level"]]))
    groups: Dict[str, List[dict]] = {}
    for row in rows:
        groups.setdefault(row["category"] if split else "all", []).append(row)
    written = []
    for group, items in groups.items():
        path = outdir / (f"{group}_prompts_hierarchical.csv" if split else "prompts_hierarchical.csv")
        with atomic_output(path) as fh:
            writer = csv.writer(fh)
            writer.writerow(FIELDS)
            for item in items:
                writer.writerow([item[f] for f in FIELDS])
        written.append(path)
    return written
