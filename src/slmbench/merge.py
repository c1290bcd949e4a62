"""Merge inference shards into one runs file, in the order the shards are given (deterministic)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Iterable, List

from .errors import UserError
from .layout import shard_repeats_beside, timing_repeats_beside
from .records import RECORD_KEY, read_run_records, write_jsonl


def merge_runs(shards: Iterable[str | Path], out: str | Path, repeats_out: str | Path | None = None,
               shard_repeats_out: str | Path | None = None) -> int:
    """Concatenate shard records (each shard sorted by question, variant, then repeat) and refuse duplicates; every
    record is checked by records.read_run_records (bad JSON, unknown or missing fields, wrong types name the shard and
    line). Numbers `run_index`: each record's place in the study's designed execution order (shard position,
    then place inside the shard), 0, 1, 2 ... over the records that carry a shard position. Timing repeats
    (repeat > 0) go to `repeats_out` (default: timing_repeats.jsonl beside `out`), so the runs file holds one
    record per (model, level, question, variant), as the study's grep counts expect. The records of a shard
    measured a second time (shard_repeat > 0, inference.shard_repeats) go to `shard_repeats_out` (default:
    shard_repeats.jsonl beside `out`), for the same reason."""
    seen: dict = {}
    rows: List[dict] = []
    for shard in shards:
        for record in sorted(read_run_records(shard), key=lambda r: (r.question_id, r.variant, r.repeat)):
            key = (*(getattr(record, k) for k in RECORD_KEY), record.shard_repeat, record.repeat)
            if key in seen:
                raise UserError(f"{shard}: duplicate record {key[:-2]} (repeat {key[-1]}, shard repeat "
                                f"{key[-2]}), also in {seen[key]}; "
                                f"delete one shard and rerun")
            seen[key] = shard
            rows.append(asdict(record))
    placed = sorted((r for r in rows if r["shard_position"] is not None),
                    key=lambda r: (r["shard_position"], r["shard_item"] if r["shard_item"] is not None else 0))
    for index, row in enumerate(placed):
        row["run_index"] = index
    # the runs first: a full disk then leaves neither file (a failed job's other output is removed by Snakemake)
    scored = [r for r in rows if not r["shard_repeat"]]
    written = write_jsonl(out, [r for r in scored if r["repeat"] == 0])
    try:
        write_jsonl(repeats_out or timing_repeats_beside(out), [r for r in scored if r["repeat"] > 0])
        write_jsonl(shard_repeats_out or shard_repeats_beside(out), [r for r in rows if r["shard_repeat"]])
    except OSError:
        Path(out).unlink(missing_ok=True)
        raise
    return written


def _cmd_merge(args) -> int:
    merge_runs(args.shards, args.out, args.repeats_out, args.shard_repeats_out)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("merge", help="merge inference shards into one runs JSONL")
    parser.add_argument("--out", required=True, help="the merged runs file to write (runs_llamacpp.jsonl)")
    parser.add_argument("--repeats-out", help="the timing repeats file (default: timing_repeats.jsonl beside --out)")
    parser.add_argument("--shard-repeats-out",
                        help="the repeated shards' records (default: shard_repeats.jsonl beside --out)")
    parser.add_argument("shards", nargs="+", help="the shard files (JSON lines)")
    parser.set_defaults(func=_cmd_merge)
