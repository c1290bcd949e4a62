"""Load the merged runs and scores, check them, and join them into one table: one row per run.

A run without a score row gets judge_status "missing"; a quality number exists only where the judge's
status is "ok" (a parse error or a failed run is counted, never averaged as a number).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import UserError
from .settings import ReportSettings

KEY = ["model_id", "level", "question_id"]
DIMENSIONS = ["factuality", "helpfulness", "structure", "conciseness"]
RUN_REQUIRED = ["model_id", "level", "question_id", "category", "status"]
RUN_NUMERIC = [
    "prompt_tokens", "completion_tokens", "latency_ms", "ttft_ms", "prefill_tok_s", "decode_tok_s",
    "energy_j", "energy_gross_j", "energy_per_token_j", "mean_power_mw", "idle_power_mw", "power_samples",
]
RUN_TEXT = [
    "model_file", "quant", "prompt", "output", "power_source", "energy_note", "finish_reason", "device",
    "power_mode", "llama_cpp_version", "started_at", "error",
]
SCORE_REQUIRED = ["question_id", "model_id", "level", *DIMENSIONS, "total_score", "judge_status"]
TOTAL_TOLERANCE = 1e-6  # a total further than this from the sum of its dimensions is not a score
SCORE_TEXT = ["category", "reason", "judge_model"]
JUDGE_STATUSES = ("ok", "parse_error", "run_error")
MISSING_SCORE = "missing"  # judge_status of a run with no row in the scores file


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_run(path: Path, lineno: int, record) -> None:
    where = f"{path}:{lineno}"
    if not isinstance(record, dict):
        raise UserError(f"{where}: a run record must be a JSON object; regenerate the file (rule merge_runs)")
    for name in RUN_REQUIRED:
        if record.get(name) in (None, ""):
            raise UserError(f"{where}: field {name} is missing; regenerate the shard it came from and merge again")
    if not isinstance(record["question_id"], int) or isinstance(record["question_id"], bool):
        raise UserError(f"{where}: field question_id is {record['question_id']!r}, not an integer; fix the prompt CSV")
    for name in RUN_NUMERIC:
        value = record.get(name)
        if value is not None and not _is_number(value):
            raise UserError(f"{where}: field {name} is {value!r}, not a number or null; regenerate the shard")


def read_runs(path) -> pd.DataFrame:
    """The merged runs JSONL as a DataFrame (column `line` = line number in the file)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: runs file not found; run the inference and merge steps first (rule merge_runs)")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    f"{path}:{lineno}: not valid JSON ({exc.msg}); delete the file and merge again") from None
            _check_run(path, lineno, record)
            record["line"] = lineno
            rows.append(record)
    if not rows:
        raise UserError(f"{path}: no run records; run the inference shards and merge them first")
    frame = pd.DataFrame(rows)
    for name in RUN_NUMERIC:
        frame[name] = pd.to_numeric(frame[name], errors="raise") if name in frame else np.nan
        frame[name] = frame[name].astype(float)
    for name in RUN_TEXT + RUN_REQUIRED:
        if name not in frame:
            frame[name] = None
        if name != "question_id":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame["question_id"] = frame["question_id"].astype(int)
    return frame


def _empty_scores() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in SCORE_REQUIRED + SCORE_TEXT})
    for name in DIMENSIONS + ["total_score"]:
        frame[name] = frame[name].astype(float)
    frame["question_id"] = frame["question_id"].astype(int)
    frame["row"] = pd.Series(dtype=int)
    return frame


def _numeric_column(frame: pd.DataFrame, path: Path, name: str) -> pd.Series:
    text = frame[name].str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = values.isna() & (text != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            f"{path}: row {i + 2}, column {name}: {frame[name].iloc[i]!r} is not a number; fix or re-merge the scores"
        )
    return values.astype(float)


def read_scores(path) -> pd.DataFrame:
    """The merged scores CSV (row = line of the CSV record counting the header as row 1). Empty file: no scores."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: scores file not found; run the judge and merge steps first (rule merge_scores)")
    if path.stat().st_size == 0:
        return _empty_scores()
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())  # pandas' message spans lines; the error must be one
        raise UserError(f"{path}: not a readable CSV ({detail}); re-merge the scores (rule merge_scores)") from None
    frame = _seed_scores_compat(frame)
    missing = [name for name in SCORE_REQUIRED if name not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; re-merge the scores (rule merge_scores)")
    for name in SCORE_TEXT:
        if name not in frame:
            frame[name] = ""
    frame["row"] = np.arange(2, len(frame) + 2)
    qid = pd.to_numeric(frame["question_id"].str.strip(), errors="coerce")
    bad = qid.isna() | (qid != qid.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(f"{path}: row {i + 2}, column question_id: {frame['question_id'].iloc[i]!r} is not an integer")
    frame["question_id"] = qid.astype(int)
    status = frame["judge_status"].str.strip()
    unknown = ~status.isin(JUDGE_STATUSES)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise UserError(
            f"{path}: row {i + 2}, column judge_status: {status.iloc[i]!r} is not one of {', '.join(JUDGE_STATUSES)}"
        )
    frame["judge_status"] = status
    for name in DIMENSIONS + ["total_score"]:
        # A number beside a failed verdict is not a score (the contract leaves it empty): drop it.
        frame[name] = _numeric_column(frame, path, name).where(status == "ok")
    for name in ("model_id", "level"):
        frame[name] = frame[name].str.strip()
    return collapse_repeats(frame)


def _seed_scores_compat(frame: pd.DataFrame) -> pd.DataFrame:
    """Scores in the seed's own scores_absolute.csv shape have no judge_status column: read them as the seed
    wrote them, a row with a total is a verdict ("ok"), a row without one is a verdict that failed.
    (Kept apart so the one scores reader of slmbench.scores can take it over.)"""
    if "judge_status" in frame.columns or "total_score" not in frame.columns:
        return frame
    has_total = frame["total_score"].str.strip() != ""
    return frame.assign(judge_status=np.where(has_total, "ok", "parse_error"))


def collapse_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """Several verdicts per run (judge.repeats > 1, or several judges): one row per run whose scores are the
    mean of its ok verdicts, ok when any verdict is. A row repeated with the same repeat and judge is a true
    duplicate and is left for duplicate_keys to report."""
    extra = [c for c in ("repeat", "judge_name") if c in frame]
    if not extra or not frame.duplicated(KEY).any() or frame.duplicated(KEY + extra).any():
        return frame
    first = frame.drop_duplicates(KEY, keep="first").set_index(KEY)
    ok = frame[frame["judge_status"] == "ok"]
    means = ok.groupby(KEY)[DIMENSIONS + ["total_score"]].mean()
    first[DIMENSIONS + ["total_score"]] = means.reindex(first.index)
    first["judge_status"] = frame.groupby(KEY)["judge_status"].agg(lambda s: "ok" if (s == "ok").any() else s.iloc[0])
    return first.reset_index()


def duplicate_keys(frame: pd.DataFrame, position: str) -> List[str]:
    """'(model, level, question) at <position>s a, b' for every key that occurs more than once."""
    dup = frame[frame.duplicated(KEY, keep=False)]
    found = []
    for key, group in dup.groupby(KEY, sort=False):
        found.append(f"({key[0]}, {key[1]}, {key[2]}) at {position}s {', '.join(map(str, group[position]))}")
    return found


def _ordered(preferred: Optional[Sequence[str]], seen: Sequence[str]) -> List[str]:
    """Preferred names present in the data, in the preferred order, then any others in order of appearance."""
    present = list(dict.fromkeys(seen))
    first = [name for name in (preferred or ()) if name in present]
    return first + [name for name in present if name not in first]


@dataclass
class Study:
    """Runs joined with their scores, with the display order of models, levels and categories."""

    runs: pd.DataFrame
    models: List[str]
    levels: List[str]
    categories: List[str]
    settings: ReportSettings
    runs_path: Path
    scores_path: Optional[Path]
    score_rows: int  # rows in the scores file
    orphan_scores: int  # score rows with no run

    @property
    def baseline(self) -> str:
        return self.levels[0]

    @property
    def questions(self) -> List[int]:
        return sorted(self.runs["question_id"].unique().tolist())


def join_runs_scores(runs: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    columns = KEY + DIMENSIONS + ["total_score", "reason", "judge_model", "judge_status"]
    joined = runs.merge(scores[columns], on=KEY, how="left", validate="one_to_one")
    joined["judge_status"] = joined["judge_status"].fillna(MISSING_SCORE)
    joined["total_mismatch"] = (joined["judge_status"] == "ok") & ~total_agrees(joined)
    # A usable score: the judge's verdict is ok, every dimension is there and the total is their sum. A total
    # that disagrees with its dimensions (edited by hand?) is reported by validation and never averaged.
    joined["usable"] = (joined["judge_status"] == "ok") & ~joined["total_mismatch"] & (joined["status"] == "ok")
    joined["quality"] = joined["total_score"].where(joined["usable"])
    joined["reason"] = joined["reason"].astype(object).where(joined["reason"].notna(), None)
    return joined


def total_agrees(frame: pd.DataFrame) -> pd.Series:
    """True where total_score equals the sum of the four dimensions (all present)."""
    dims = frame[DIMENSIONS]
    complete = dims.notna().all(axis=1) & frame["total_score"].notna()
    return complete & ((dims.sum(axis=1) - frame["total_score"]).abs() <= TOTAL_TOLERANCE)


def load_study(runs_path, scores_path=None, settings=None) -> Study:
    settings = settings if isinstance(settings, ReportSettings) else ReportSettings.from_mapping(settings)
    runs = read_runs(runs_path)
    dups = duplicate_keys(runs, "line")
    if dups:
        raise UserError(f"{runs_path}: duplicate run {dups[0]}; delete one of the shards involved and merge again")
    scores = read_scores(scores_path) if scores_path is not None else _empty_scores()
    dups = duplicate_keys(scores, "row")
    if dups:
        raise UserError(f"{scores_path}: duplicate score {dups[0]}; re-merge the scores (rule merge_scores)")
    joined = join_runs_scores(runs, scores)
    matched = scores.merge(runs[KEY], on=KEY, how="inner")
    return Study(
        runs=joined,
        models=_ordered(settings.models, joined["model_id"].tolist()),
        levels=_ordered(settings.levels, joined["level"].tolist()),
        categories=_ordered(settings.categories, joined["category"].tolist()),
        settings=settings,
        runs_path=Path(runs_path),
        scores_path=Path(scores_path) if scores_path is not None else None,
        score_rows=len(scores),
        orphan_scores=len(scores) - len(matched),
    )
