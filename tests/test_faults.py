"""Faults a long run on a small board meets: kill -9 mid-shard and mid-report, a shard cut by power loss,
a full disk. Real Snakemake runs of a reduced demo; the rerun must finish exactly the missing work. Each run is
fresh from the shards on (conftest.py demo_workdir: the shared demo study's prompts, model checks and idle
baseline copied, not made again)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from pipeline_helpers import kill_tree, start_snakemake, wait_for
from slmbench.records import jsonl_is_complete

pytestmark = pytest.mark.slow

RES = "results/demo"
CATEGORIES = ["math", "coding"]
SMALL_LEVELS = ["L0", "L1"]
EIGHT_CATEGORIES = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]


@pytest.fixture
def study(demo_workdir):
    """10 shards: a kill after 3 of them leaves some to redo."""
    return demo_workdir(categories=CATEGORIES, **{"inference.max_tokens": 16, "judge.max_tokens": 64})


@pytest.fixture
def small_study(demo_workdir):
    """4 shards (2 levels): enough for a fault that hits one shard or the reports."""
    return demo_workdir(categories=CATEGORIES, levels=SMALL_LEVELS,
                        **{"inference.max_tokens": 16, "judge.max_tokens": 64})


def shard_files(work: Path) -> list[Path]:
    return sorted((work / RES / "shards").rglob("*.jsonl"))


def keys_once(runs: Path, levels: int = 5) -> None:
    keys = Counter((r["model_id"], r["level"], r["question_id"]) for r in map(json.loads, runs.open()))
    assert len(keys) == len(CATEGORIES) * levels and set(keys.values()) == {1}


def test_kill_during_inference_then_rerun_redoes_only_unfinished_shards(study):
    work, target = study.work, f"{RES}/runs_llamacpp.jsonl"
    proc = start_snakemake(work, "--cores", "1", target, env=study.env)
    assert wait_for(lambda: len(shard_files(work)) >= 3 or proc.poll() is not None, timeout=900)
    kill_tree(proc)
    finished = {p: p.stat().st_mtime_ns for p in shard_files(work)}
    assert 3 <= len(finished) < len(CATEGORIES) * 5, "the kill came too late to test anything"
    assert all(jsonl_is_complete(p) for p in finished), "a killed shard left a file that looks complete"

    study.snakemake("--cores", "1", target)
    redone = [p for p, mtime in finished.items() if p.stat().st_mtime_ns != mtime]
    # Only a shard that was renamed into place in the instant before the kill, before Snakemake recorded the job
    # as finished, may be redone: Snakemake still marks it incomplete. Every earlier shard must be untouched.
    newest = max(finished, key=finished.get)
    assert redone in ([], [newest]), f"finished shards were redone: {redone}"
    assert len(shard_files(work)) == len(CATEGORIES) * 5
    keys_once(work / target)


def snapshot(root: Path) -> dict:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def test_shard_cut_by_power_loss_is_only_reported_by_a_dry_run_then_redone(small_study):
    study = small_study
    work, target = study.work, f"{RES}/runs_llamacpp.jsonl"
    study.snakemake("--cores", "1", target)
    victim = work / RES / "shards/gemma3-270m/L1/math.jsonl"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # the tail never reached the disk
    # files made from the shard, which the real run removes with it
    made = [work / RES / "scores_absolute.csv", work / RES / "scores/gemma3-270m/L1/math.csv"]
    for path in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("made from the shard\n")
    before = snapshot(work / RES)

    dry = study.snakemake("-n", target)
    assert snapshot(work / RES) == before  # the cut shard byte for byte, the merged runs and scores untouched
    assert "dry run" in dry.stderr and f"{RES}/shards/gemma3-270m/L1/math.jsonl is incomplete" in dry.stderr

    proc = study.snakemake("--cores", "1", target)
    assert "incomplete" in proc.stderr and (victim.parent / "math.jsonl.corrupt").read_bytes() == before[victim][0]
    assert jsonl_is_complete(victim) and not any(path.exists() for path in made)
    keys_once(work / target, len(SMALL_LEVELS))


def test_kill_during_report_writing_leaves_no_workbook_that_looks_complete(small_study):
    study = small_study
    work = study.work
    study.snakemake("--cores", "1", f"{RES}/scores_absolute.csv")
    proc = start_snakemake(work, "--cores", "1", env=study.env)
    assert wait_for(lambda: (work / RES / "logs").exists() and any((work / RES / "logs").rglob("reports.log"))
                    or proc.poll() is not None, timeout=600)
    kill_tree(proc)
    for book in (work / RES).glob("*.xlsx"):
        openpyxl.load_workbook(book)  # any workbook present is whole
    study.snakemake("--cores", "1")
    assert len(list((work / RES).glob("*.xlsx"))) == 6


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_while_writing_is_one_line_and_leaves_no_file(tmp_path, tiny_disk):
    shard = tmp_path / "shard.jsonl"
    record = {"model_id": "m", "level": "L0", "question_id": 0, "category": "math", "prompt": "x" * 2000,
              "status": "ok"}
    shard.write_text("".join(json.dumps({**record, "question_id": i}) + "\n" for i in range(100)))
    out = tiny_disk / "runs.jsonl"
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "merge", "--out", str(out), str(shard)],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tiny_disk.iterdir()) == []  # no partial file, not even the temporary one


def test_kill_during_judging_never_asks_an_answered_verdict_again(demo_workdir):
    from openai_stub_server import StubServer

    with StubServer(delay_s=0.3) as server:
        # the demo's questions x 2 levels: every question is a different request, whatever the tiny model answers
        # (identical answers to one question share a cached verdict, so answers alone may repeat)
        study = demo_workdir(categories=EIGHT_CATEGORIES, levels=["L0", "L1"], **{
            "inference.max_tokens": 8, "judge.backend": "openai", "judge.base_url": server.base_url,
            "judge.model": "stub-judge", "judge.concurrency": 1})
        work, scores = study.work, f"{RES}/scores_absolute.csv"
        study.snakemake("--cores", "1", f"{RES}/runs_llamacpp.jsonl")
        proc = start_snakemake(work, "--cores", "1", scores, env=study.env)
        assert wait_for(lambda: len(server.answered) >= 3 or proc.poll() is not None, timeout=300)
        kill_tree(proc)
        asked_before = {json.dumps(b["messages"]) for b in server.bodies}
        # what the killed run had stored; a reply the server sent while the client was being killed is not
        # among them, and asking for it again is right
        with sqlite3.connect(work / RES / "judge_cache.sqlite") as db:
            stored = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        assert 2 <= stored < 16, "the kill came too late to test anything"
        first_request_after = len(server.bodies)
        study.snakemake("--cores", "1", scores)
        asked_after = [json.dumps(b["messages"]) for b in server.bodies[first_request_after:]]
    distinct = asked_before | set(asked_after)
    assert len(set(asked_after)) == len(asked_after), "the rerun asked for one verdict twice"
    assert len(asked_after) == len(distinct) - stored, "a stored verdict was asked again"
    rows = (work / scores).read_text().splitlines()
    assert len(rows) == 1 + 8 * 2
