"""Load the merged runs and scores, check them, and join them into one table: one row per run.

A run without a score row gets judge_status "missing"; a quality number exists only where the judge's
status is "ok" (a parse error or a failed run is counted, never averaged as a number).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import pandas as pd

from .. import scores
from ..errors import UserError
from ..layout import shard_repeats_beside, timing_repeats_beside
from ..records import FIELD_KINDS, NO_POWER_MODE, RECORD_KEY, RUN_RECORD_FIELDS, iter_run_records
from .settings import ReportSettings

# lists: the report concatenates them with other column names
KEY = list(RECORD_KEY)
DIMENSIONS = list(scores.DIMENSIONS)
# columns kept as float (NaN for null): the measurements the reports compute with
RUN_NUMERIC = [
    "prompt_tokens", "completion_tokens", "latency_ms", "ttft_ms", "prefill_tok_s", "decode_tok_s",
    "energy_j", "energy_gross_j", "energy_per_token_j", "mean_power_mw", "idle_power_mw", "power_samples",
    "energy_prefill_j", "energy_decode_j", "load_s", "temp_c_start", "temp_c_end", "background_cpu_pct",
    "run_index", "shard_position",
]
TOTAL_TOLERANCE = 1e-6  # a total further than this from the sum of its dimensions is not a score
MISSING_SCORE = "missing"  # judge_status of a run with no row in the scores file
MODE = "mode"  # the run's power mode as the reports name it (jetson.mode_label); "" where none was recorded
# a run's several ok verdicts ({total_score: (v1, v2, ...), factuality: ...}) where it has 2 or more, else None
REPEAT_VERDICTS = "repeat_verdicts"


def read_runs(path) -> pd.DataFrame:
    """The merged runs JSONL as a DataFrame (column `line` = line number in the file), every record checked by
    records.read_run_records."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: runs file not found; run the inference and merge steps first (rule merge_runs)")
    rows = [{**record.__dict__, "line": lineno} for lineno, record in iter_run_records(path)]
    if not rows:
        raise UserError(f"{path}: no run records; run the inference shards and merge them first")
    frame = pd.DataFrame(rows, columns=[*RUN_RECORD_FIELDS, "line"])
    for name in RUN_NUMERIC:
        frame[name] = pd.to_numeric(frame[name], errors="raise").astype(float)
    for name in RUN_RECORD_FIELDS:
        if str in FIELD_KINDS[name][0]:  # text: None where null, not NaN
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame["question_id"] = frame["question_id"].astype(int)
    frame["variant"] = frame["variant"].astype(int)
    return with_mode_key(frame)


def mode_labels(frame: pd.DataFrame) -> list:
    """MODE of every run: "15W" from "15W (nvpmodel 1); clocks max" (jetson.mode_label)."""
    from ..jetson import mode_label

    modes = frame["power_mode"] if "power_mode" in frame else [None] * len(frame)
    return [mode_label(m, int(i)) for m, i in zip(modes, frame["power_mode_id"])]


def with_mode_key(frame: pd.DataFrame) -> pd.DataFrame:
    """power_mode_id as a key column: an integer everywhere, NO_POWER_MODE where none was recorded (a null key
    would be dropped by every groupby and never equal itself in a set)."""
    frame["power_mode_id"] = frame["power_mode_id"].astype(object).where(frame["power_mode_id"].notna(),
                                                                         NO_POWER_MODE).astype(int)
    return frame


def _score_frame(rows: List[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*scores.SCORE_COLUMNS, "row"])
    for name in DIMENSIONS + ["total_score"]:
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    # true/false/None -> 1/0/NaN: a mean over (model, level) is the share of answers whose result agrees
    frame["reference_match"] = frame["reference_match"].map({True: 1.0, False: 0.0}).astype(float)
    frame["question_id"] = frame["question_id"].astype(int)
    frame["variant"] = frame["variant"].astype(int)
    frame["row"] = frame["row"].astype(int)
    return with_mode_key(frame)


def _empty_scores() -> pd.DataFrame:
    return _score_frame([])


def read_verdicts(path) -> pd.DataFrame:
    """Every row of the merged scores CSV (every repeat, every judge), checked by scores.read_score_rows
    (column `row` = the CSV row, the header being row 1). An empty file: no scores yet."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: scores file not found; run the judge and merge steps first (rule merge_scores)")
    return _score_frame([{**row.__dict__, "row": number} for number, row in scores.iter_score_rows(path)])


def read_scores(path) -> pd.DataFrame:
    """The merged scores, one row per run (collapse_repeats)."""
    return collapse_repeats(read_verdicts(path))


def collapse_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """Several verdicts per run (judge.repeats > 1, or several judges): one row per run whose scores are the
    mean of its ok verdicts, ok when any verdict is. A row repeated with the same repeat and judge is a true
    duplicate and is left for duplicate_keys to report."""
    extra = [c for c in ("repeat", "judge_name") if c in frame]
    if not extra or not frame.duplicated(KEY).any() or frame.duplicated(KEY + extra).any():
        return frame
    first = frame.drop_duplicates(KEY, keep="first").set_index(KEY)
    ok = frame[frame["judge_status"] == "ok"]
    means = ok.groupby(KEY)[DIMENSIONS + ["total_score", "reference_match"]].mean()
    first[DIMENSIONS + ["total_score", "reference_match"]] = means.reindex(first.index)
    # the point estimate is the mean; the verdicts behind it stay, for the bootstrap to resample (judge noise)
    verdicts = {key: {c: tuple(group[c].dropna()) for c in DIMENSIONS + ["total_score"]}
                for key, group in ok.groupby(KEY) if len(group) >= 2}
    first[REPEAT_VERDICTS] = [verdicts.get(key) for key in first.index]
    first["judge_status"] = frame.groupby(KEY)["judge_status"].agg(lambda s: "ok" if (s == "ok").any() else s.iloc[0])
    return first.reset_index()


def duplicate_keys(frame: pd.DataFrame, position: str) -> List[str]:
    """'(model, level, question[, variant v][, mode m]) at <position>s a, b' for every key occurring more than once."""
    dup = frame[frame.duplicated(KEY, keep=False)]
    found = []
    for key, group in dup.groupby(KEY, sort=False):
        variant = f", variant {key[3]}" if key[3] else ""
        mode = f", power mode {key[4]}" if key[4] != NO_POWER_MODE else ""
        found.append(f"({key[0]}, {key[1]}, {key[2]}{variant}{mode}) at {position}s "
                     f"{', '.join(map(str, group[position]))}")
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
    timing_repeats: Optional[pd.DataFrame] = None  # runs measured again (repeat > 0), for the noise figures
    verdicts: Optional[pd.DataFrame] = None  # every score row (repeats, judges): the judge agreement sheet
    shard_repeats: Optional[pd.DataFrame] = None  # shards measured a second time (inference.shard_repeats)

    @property
    def baseline(self) -> str:
        return self.levels[0]

    @property
    def questions(self) -> List[int]:
        return sorted(self.runs["question_id"].unique().tolist())

    @property
    def modes(self) -> List[str]:
        """The power modes' labels in nvpmodel id order ([""] for a study that recorded none)."""
        first = self.runs.groupby(MODE, sort=False)["power_mode_id"].min()
        return sorted(first.index, key=lambda label: (first[label], label))

    @property
    def variants(self) -> List[int]:
        """The prompt variants the runs hold ([0] for a one-variant study)."""
        return sorted(self.runs["variant"].unique().tolist())


def join_runs_scores(runs: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    columns = KEY + DIMENSIONS + ["total_score", "reason", "judge_model", "judge_status", "reference_match"]
    columns += [REPEAT_VERDICTS] if REPEAT_VERDICTS in scores else []
    joined = runs.merge(scores[columns], on=KEY, how="left", validate="one_to_one")
    if REPEAT_VERDICTS not in joined:
        joined[REPEAT_VERDICTS] = None
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
    all_runs = read_runs(runs_path)
    repeats_path = Path(timing_repeats_beside(runs_path))
    if repeats_path.is_file() and repeats_path.stat().st_size:  # merge_runs puts timing repeats beside the runs
        all_runs = pd.concat([all_runs, read_runs(repeats_path)], ignore_index=True)
    runs = all_runs[all_runs["repeat"] == 0].reset_index(drop=True)  # the scored runs; repeats measure noise
    dups = duplicate_keys(runs, "line")
    if dups:
        raise UserError(f"{runs_path}: duplicate run {dups[0]}; delete one of the shards involved and merge again")
    verdicts = read_verdicts(scores_path) if scores_path is not None else _empty_scores()
    scores = collapse_repeats(verdicts)
    dups = duplicate_keys(scores, "row")
    if dups:
        raise UserError(f"{scores_path}: duplicate score {dups[0]}; re-merge the scores (rule merge_scores)")
    joined = join_runs_scores(runs, scores)
    joined[MODE] = mode_labels(joined)
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
        timing_repeats=all_runs[all_runs["repeat"] > 0].reset_index(drop=True),
        verdicts=verdicts,
        shard_repeats=_shard_repeats(runs_path),
    )


def _shard_repeats(runs_path) -> Optional[pd.DataFrame]:
    """The repeated shards' records merge_runs put beside the runs (their timing repeats left out), or None."""
    path = Path(shard_repeats_beside(runs_path))
    if not (path.is_file() and path.stat().st_size):
        return None
    frame = read_runs(path)
    return frame[frame["repeat"] == 0].reset_index(drop=True)
