"""The repairs before a run (slmbench.preflight): a dry run only reports them and changes no file; the real run
quarantines a cut shard and clears a dead run's lock; unchanged shards are not read again at the next parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slmbench.preflight import INDEX_PATH, ShardIndex, preflight, study_shards
from slmbench.records import jsonl_is_complete

REPO = Path(__file__).resolve().parents[1]
RECORD = json.dumps({"model_id": "m", "level": "L0", "question_id": 1, "output": "4"}) + "\n"


class CountingCheck:
    """jsonl_is_complete, counting the shards it reads."""

    def __init__(self):
        self.read = []

    def __call__(self, path):
        self.read.append(path)
        return jsonl_is_complete(path)


def study(root: Path, n: int) -> list:
    """n complete shards, each with its score file, and the merged runs and scores made from them."""
    shards = []
    merged = (str(root / "runs_llamacpp.jsonl"), str(root / "scores_absolute.csv"))
    for path in merged:
        Path(path).write_text("merged\n")
    for i in range(n):
        shard, score = root / f"shards/m{i // 40}/L{i % 5}/c{i}.jsonl", root / f"scores/m{i // 40}/c{i}.csv"
        shard.parent.mkdir(parents=True, exist_ok=True)
        score.parent.mkdir(parents=True, exist_ok=True)
        shard.write_text(RECORD * 3)
        score.write_text("score\n")
        shards.append((str(shard), (str(score), *merged)))
    return shards


def run(tmp_path, shards, dry_run, check=None):
    check = check or CountingCheck()
    lines = preflight(shards, dry_run=dry_run, results_dir=tmp_path, workdir=tmp_path,
                      index=ShardIndex(tmp_path / INDEX_PATH, is_complete=check), emit=lambda line: None)
    return check, lines


def test_a_second_parse_reads_none_of_800_unchanged_shards(tmp_path):
    shards = study(tmp_path, 800)
    first, _ = run(tmp_path, shards, dry_run=True)
    assert len(first.read) == 800
    second, lines = run(tmp_path, shards, dry_run=True)
    assert second.read == [] and lines == []


def test_only_a_new_or_changed_shard_is_read_again(tmp_path):
    shards = study(tmp_path, 20)
    run(tmp_path, shards[:19], dry_run=False)
    changed = Path(shards[3][0])
    changed.write_text(RECORD * 4)
    os.utime(changed, ns=(1, 1))  # another size and mtime: read again, whatever the clock's resolution
    check, _ = run(tmp_path, shards, dry_run=False)
    assert sorted(check.read) == sorted([str(changed), shards[19][0]])


def cut(shard: str) -> bytes:
    data = Path(shard).read_bytes()
    Path(shard).write_bytes(data[: len(data) // 2])
    return Path(shard).read_bytes()


def test_a_dry_run_reports_a_cut_shard_and_changes_no_file(tmp_path):
    shards = study(tmp_path, 10)
    run(tmp_path, shards, dry_run=False)  # indexed as complete
    victim, derived = shards[4]
    cut_bytes = cut(victim)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()
              and ".snakemake" not in p.parts}
    _, lines = run(tmp_path, shards, dry_run=True)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()
             and ".snakemake" not in p.parts}
    assert after == before and Path(victim).read_bytes() == cut_bytes
    assert len(lines) == 1 and "dry run" in lines[0] and victim in lines[0] and "nothing changed" in lines[0]
    assert all(p in lines[0] for p in derived)  # it names what the real run will remove

    check, again = run(tmp_path, shards, dry_run=True)  # still reported, the only shard read
    assert again == lines and check.read == [victim]


def test_the_real_run_quarantines_a_cut_shard_and_what_was_made_from_it(tmp_path):
    shards = study(tmp_path, 10)
    victim, (score, runs, scores) = shards[4]
    cut_bytes = cut(victim)
    _, lines = run(tmp_path, shards, dry_run=False)
    assert not Path(victim).exists() and Path(victim + ".corrupt").read_bytes() == cut_bytes
    assert not any(Path(p).exists() for p in (score, runs, scores))
    assert Path(shards[3][1][0]).exists()  # another shard's score stays
    assert len(lines) == 1 and "was incomplete" in lines[0] and "moved to c4.jsonl.corrupt" in lines[0]
    Path(victim).write_text(RECORD)  # redone by the run
    check, lines = run(tmp_path, shards, dry_run=False)
    assert check.read == [victim] and lines == []


def dead_lock(workdir: Path, host: str | None = None) -> Path:
    """Snakemake's lock left by a run that was killed (on this host unless `host` names another)."""
    import socket

    lock = workdir / ".snakemake/locks/0.input.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("x")
    owner = {"pid": 2**22 + 7, "host": host or socket.gethostname(), "boot_id": ""}
    (workdir / ".snakemake/slmbench_owner.json").write_text(json.dumps(owner))
    return lock


def test_a_dead_runs_lock_is_reported_by_a_dry_run_and_removed_by_the_real_run(tmp_path):
    lock = dead_lock(tmp_path)
    owner = (tmp_path / ".snakemake/slmbench_owner.json").read_text()
    _, lines = run(tmp_path, [], dry_run=True)
    assert lock.exists() and (tmp_path / ".snakemake/slmbench_owner.json").read_text() == owner
    assert len(lines) == 1 and "dry run" in lines[0] and "killed run" in lines[0]
    _, lines = run(tmp_path, [], dry_run=False)
    assert not lock.exists() and "removed the lock" in lines[0]
    assert json.loads((tmp_path / ".snakemake/slmbench_owner.json").read_text())["pid"] == os.getpid()


def test_a_lock_from_another_host_is_neither_reported_as_dead_nor_removed(tmp_path):
    import pytest

    from slmbench.errors import UserError

    lock = dead_lock(tmp_path, host="board-on-nfs")
    _, lines = run(tmp_path, [], dry_run=True)
    assert lines == [] and lock.exists()
    with pytest.raises(UserError, match="board-on-nfs.*--unlock"):
        run(tmp_path, [], dry_run=False)
    assert lock.exists()


def test_an_unreadable_index_only_costs_one_read_of_each_shard(tmp_path):
    shards = study(tmp_path, 5)
    (tmp_path / INDEX_PATH).parent.mkdir(parents=True)
    (tmp_path / INDEX_PATH).write_text("{not json")
    check, lines = run(tmp_path, shards, dry_run=True)
    assert len(check.read) == 5 and lines == []
    check, _ = run(tmp_path, shards, dry_run=True)
    assert check.read == []


def test_every_shard_of_the_study_comes_with_its_score_and_the_merged_files():
    from slmbench.layout import StudyLayout

    layout = StudyLayout(results_dir="res", prompts_dir="p", models_dir="m")
    shards = list(study_shards(layout, ["a", "b"], ["L0", "L1"], ["math"]))
    assert len(shards) == 4
    assert shards[1] == ("res/shards/a/L1/math.jsonl",
                         ("res/scores/a/L1/math.csv", "res/runs_llamacpp.jsonl", "res/scores_absolute.csv"))


# Run Snakemake with an audit hook that counts every open() of a shard file and writes the count at exit:
# the real parse, the real preflight, no stand-in for either.
COUNT_SHARD_READS = """
import atexit, sys
reads, out = [], sys.argv.pop(1)
sys.addaudithook(lambda event, args: reads.append(args[0]) if event == "open" and isinstance(args[0], str)
                 and "/shards/" in args[0] and args[0].endswith(".jsonl") else None)
atexit.register(lambda: open(out, "w").write(str(len(reads))))
from snakemake.cli import main
sys.argv[0] = "snakemake"
main()
"""


@pytest.mark.slow
def test_a_second_snakemake_dry_run_reads_none_of_800_unchanged_shards(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from dryrun_study import make_midway, scratch_study, study_config

    work = tmp_path / "study"
    scratch_study(work, model_copies=10)  # the study's 4 models under 10 ids each: 1600 shards
    made = make_midway(work, study_config(work))  # every second shard exists, complete
    assert made == 800

    def shards_read() -> int:
        count = tmp_path / "reads.txt"
        subprocess.run([sys.executable, "-c", COUNT_SHARD_READS, str(count), "-s", str(REPO / "Snakefile"), "-n",
                        "--cores", "1", "--quiet", "--configfile", "config/study.yaml"], cwd=work, check=True,
                       capture_output=True)
        return int(count.read_text())

    assert shards_read() == 800  # the first parse reads each once, and remembers size and mtime
    assert shards_read() == 0


def test_a_dry_run_while_another_run_holds_the_study_says_so_and_touches_nothing(tmp_path):
    from lock_holder import holding

    shards = study(tmp_path, 4)
    cut(shards[1][0])

    def files():
        return {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and ".snakemake" not in p.parts}

    with holding(tmp_path) as holder:
        before = files()
        check, lines = run(tmp_path, shards, dry_run=True)
        assert files() == before
    assert len(lines) == 1 and f"(pid {holder.pid} " in lines[0] and "a real run now would be refused" in lines[0]
    assert check.read == []  # the holder is writing them: not even read
