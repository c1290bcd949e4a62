"""The score row: one judge's verdict on one run, as the judge writes it and every later stage reads it.

A shard's scores (layout.scores) and the merged scores (layout.scores_merged) have the same columns, SCORE_COLUMNS;
this module is the only place that spells them, reads them (checked, naming
the file, row and column) and writes them (atomically). A number exists only where the verdict is ok: a
parse error or a failed run is a counted status, never a score.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .csv_text import safe_cells, text_as_written
from .errors import UserError
from .records import RECORD_KEY, REQUIRED_KEY, atomic_output

DIMENSIONS = ("factuality", "helpfulness", "structure", "conciseness")  # each 0-2.5 in half points; total 0-10
JUDGE_STATUSES = ("ok", "parse_error", "run_error")
FIX = "rewrite it with the judge (rule judge_shard) or re-merge the scores (rule merge_scores)"


@dataclass(kw_only=True)
class ScoreRow:
    """One verdict. Text columns read back as "" when empty (a CSV cannot tell empty from null)."""

    question_id: int
    category: Optional[str] = None
    model_id: str
    level: str
    factuality: Optional[float] = None
    helpfulness: Optional[float] = None
    structure: Optional[float] = None
    conciseness: Optional[float] = None
    total_score: Optional[float] = None  # sum of the four, computed in code, never taken from the judge
    reason: Optional[str] = None  # the judge's reason; for a parse error its raw reply, for run_error the run's error
    judge_model: Optional[str] = None
    judge_status: str  # one of JUDGE_STATUSES
    judge_name: Optional[str] = None
    repeat: Optional[int] = None  # 0, 1, ... for judge.repeats > 1
    rubric_version: Optional[str] = None
    judge_endpoint: Optional[str] = None
    judged_at: Optional[str] = None  # ISO 8601, UTC
    judge_prompt_tokens: Optional[int] = None
    judge_completion_tokens: Optional[int] = None
    cache_key: Optional[str] = None
    # Added later (optional: older scores files lack them). reference_match: the judge's answer to "does the
    # final result agree with the reference?", empty where no reference was shown; reference_source: question
    # (question.jsonl's own reference), reference_file, override or none; reference_sha256: of the text shown.
    reference_match: Optional[bool] = None
    reference_source: Optional[str] = None
    reference_sha256: Optional[str] = None
    variant: int = 0  # which wording of the question's prompt (prompts.variants); a file without the column: 0
    power_mode_id: Optional[int] = None  # the run's nvpmodel mode (records.RECORD_KEY); empty: none recorded


SCORE_COLUMNS = [f.name for f in fields(ScoreRow)]
# what a mapping without the column is written as (a row from before prompt variants is variant 0)
COLUMN_DEFAULTS = {f.name: f.default for f in fields(ScoreRow) if f.default is not MISSING}
SCORES = ["total_score", *DIMENSIONS]  # the numbers of a verdict
# Without these a scores file cannot be joined to its runs or read as scores (a file from before prompt
# variants has no variant column: every row is variant 0).
REQUIRED_COLUMNS = (*REQUIRED_KEY, *DIMENSIONS, "total_score", "judge_status")
FLOAT_COLUMNS = {"total_score", *DIMENSIONS}
INT_COLUMNS = {"question_id", "variant", "repeat", "judge_prompt_tokens", "judge_completion_tokens", "power_mode_id"}
BOOL_COLUMNS = {"reference_match"}
# written by the judge or its endpoint, never a key: "=HYPERLINK(...)" there must not run in a spreadsheet
FREE_TEXT = ("reason", "judge_model")
STRIPPED = {*RECORD_KEY, "judge_status", *BOOL_COLUMNS}  # keys compare as written, without stray spaces


def _number(text: str, where: str, column: str, integer: bool) -> Union[int, float]:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (integer and not value.is_integer()):
        raise UserError(f"{where}, column {column}: {text!r} is not {'an integer' if integer else 'a number'}; "
                        f"fix or re-merge the scores")
    return int(value) if integer else value


def _flag(text: str, where: str, column: str) -> Optional[bool]:
    if text == "":
        return None
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise UserError(f"{where}, column {column}: {text!r} is not true, false or empty; {FIX}")


def _row(cells: Mapping[str, str], where: str) -> ScoreRow:
    values: dict = {}
    for column in SCORE_COLUMNS:
        text = cells.get(column, "")
        text = text.strip() if column in STRIPPED or column in FLOAT_COLUMNS or column in INT_COLUMNS else text
        if column in BOOL_COLUMNS:
            values[column] = _flag(text, where, column)
        elif column in FLOAT_COLUMNS or column in INT_COLUMNS:
            values[column] = _number(text, where, column, column in INT_COLUMNS) if text != "" else None
        else:  # free text as the judge wrote it, not as the CSV defused it for spreadsheets
            values[column] = text_as_written(text) if column in FREE_TEXT else text
    if values["question_id"] is None:
        raise UserError(f"{where}, column question_id: '' is not an integer; fix or re-merge the scores")
    if values["variant"] is None:  # absent (an older file) or empty: the study's only wording
        values["variant"] = 0
    if values["judge_status"] not in JUDGE_STATUSES:
        raise UserError(f"{where}, column judge_status: {values['judge_status']!r} is not one of "
                        f"{', '.join(JUDGE_STATUSES)}; {FIX}")
    if values["judge_status"] != "ok":  # a number beside a failed verdict is not a score (the judge leaves it empty)
        values.update({name: None for name in SCORES}, reference_match=None)
    return ScoreRow(**values)


def iter_score_rows(path: str | os.PathLike, required: Sequence[str] = REQUIRED_COLUMNS
                    ) -> Iterator[Tuple[int, ScoreRow]]:
    """(row number, score row) for every row of a scores CSV, each checked. The header is row 1; an empty file
    has no rows (the judge has not run yet).

    Bad input stops with a UserError naming the file and the row (and column): a missing or unknown column,
    a ragged row, a number that is not one, an unknown judge status.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: scores not found; run the judge first (rules judge_shard, merge_scores)")
    # utf-8-sig: a CSV saved by a spreadsheet program starts with a byte-order mark
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                return
            # The seed's own scores_absolute.csv has no judge_status: as the seed wrote it, a row with a total
            # is a verdict ("ok"), a row without one a verdict that failed ("parse_error").
            seed_shaped = "judge_status" not in header and "total_score" in header
            if seed_shaped:
                required = [c for c in required if c != "judge_status"]
            missing = [c for c in required if c not in header]
            if missing:
                raise UserError(f"{path} row 1: missing column(s) {', '.join(missing)}; {FIX}")
            unknown = [c for c in header if c not in SCORE_COLUMNS]
            if unknown:
                raise UserError(f"{path} row 1: unknown column(s) {', '.join(unknown)} (the columns are "
                                f"slmbench.scores.SCORE_COLUMNS); {FIX}")
            number = 1
            for cells in reader:
                if not cells:  # a blank line
                    continue
                number += 1
                if len(cells) != len(header):
                    raise UserError(f"{path}: not a readable CSV (line {reader.line_num}: {len(cells)} cells where "
                                    f"the header has {len(header)}); {FIX}")
                values = dict(zip(header, cells))
                if seed_shaped:
                    values["judge_status"] = "ok" if values["total_score"].strip() else "parse_error"
                yield number, _row(values, f"{path} row {number}")
        except (csv.Error, UnicodeDecodeError) as exc:
            detail = " ".join(str(exc).split())
            raise UserError(f"{path}: not a readable CSV (line {reader.line_num}: {detail}); {FIX}") from None


def read_score_rows(path: str | os.PathLike, required: Sequence[str] = REQUIRED_COLUMNS) -> List[ScoreRow]:
    """Every row of a scores CSV (a shard's or the merged one), checked; see iter_score_rows."""
    return [row for _, row in iter_score_rows(path, required)]


def _cells(row: Union[ScoreRow, Mapping]) -> dict:
    """A row's cells: a ScoreRow, or a mapping such as the judge's row dicts (other keys are left out)."""
    data = asdict(row) if isinstance(row, ScoreRow) else row
    return {c: data.get(c, COLUMN_DEFAULTS.get(c)) for c in SCORE_COLUMNS}


def write_score_rows(rows: Iterable[Union[ScoreRow, Mapping]], path: str | os.PathLike) -> Path:
    """Write the rows as a scores CSV with every column of SCORE_COLUMNS (null as empty), atomically. The text a
    judge or its endpoint wrote (FREE_TEXT) is defused for spreadsheets (csv_text.excel_safe)."""
    with atomic_output(path) as fh:
        writer = csv.DictWriter(fh, fieldnames=SCORE_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(safe_cells(_cells(row), FREE_TEXT))
    return Path(path)


def _order(row: ScoreRow) -> tuple:
    return (row.model_id, row.level, row.category or "", row.question_id, row.variant, row.judge_name or "",
            row.repeat or 0)


def merge_score_files(paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """All shards' score rows in one CSV, sorted (model, level, category, question, variant, judge, repeat): the same
    scores give the same file, whatever order the shards were judged in. Every shard is read checked."""
    rows: List[ScoreRow] = []
    for path in paths:
        rows.extend(read_score_rows(path))
    rows.sort(key=_order)
    return write_score_rows(rows, out)
