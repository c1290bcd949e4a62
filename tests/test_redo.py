"""`slmbench redo`: deletes the chosen shards and everything made from them, nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import study_files as sf

from slmbench.cli import main


@pytest.fixture
def done_study(tmp_path, monkeypatch):
    """A finished study: every shard scored, the merged files and reports written; two shards with problems."""
    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path)
    for m in sf.MODELS:
        for level in sf.LEVELS:
            for c in sf.CATEGORIES:
                sf.write_shard(tmp_path, m, level, c, errors=int((m, level, c) == ("beta", "L2", "math")),
                               energy=(m, level, c) != ("alpha", "P", "writing"))
                sf.write_scores(tmp_path, m, level, c)
    reports = sf.write_reports(tmp_path)
    return tmp_path, str(config), reports


def existing(work: Path) -> set[str]:
    return {str(p.relative_to(work)) for p in work.rglob("*") if p.is_file() and "config" not in p.parts}


def shard_files(model, level, category) -> set[str]:
    lay = sf.layout()
    return {lay.shard(model, level, category), lay.scores(model, level, category)}


def test_errors_deletes_the_failed_shard_its_scores_and_every_derived_file(done_study, capsys):
    work, config, reports = done_study
    before = existing(work)
    assert main(["redo", "--errors", "--configfile", config]) == 0
    gone = before - existing(work)
    derived = {str(p.relative_to(work)) for p in reports}
    assert gone == shard_files("beta", "L2", "math") | derived
    out = capsys.readouterr().out
    assert "1 shard(s) marked for redoing (beta/L2/math)" in out and "Run the same command" in out


def test_dry_run_lists_and_deletes_nothing(done_study, capsys):
    work, config, _ = done_study
    before = existing(work)
    assert main(["redo", "--no-energy", "--dry-run", "--configfile", config]) == 0
    assert existing(work) == before
    out = capsys.readouterr().out
    assert "1 shard(s) to redo: alpha/P/writing" in out
    assert "would delete results/shards/alpha/P/writing.jsonl" in out
    assert "would delete results/model_comparison.xlsx" in out and "would delete results/index.html" in out
    assert "would delete results/exported_responses" in out


def test_named_shards_and_a_whole_model_or_level(done_study, capsys):
    work, config, _ = done_study
    assert main(["redo", "--shard", "alpha/L0/math", "--shard", "beta/P/writing", "--configfile", config]) == 0
    remaining = existing(work)
    assert not shard_files("alpha", "L0", "math") & remaining and not shard_files("beta", "P", "writing") & remaining
    assert sf.layout().shard("alpha", "L1", "math") in remaining
    assert main(["redo", "--level", "L3", "--model", "beta", "--configfile", config]) == 0
    remaining = existing(work)
    assert not any(f.startswith("results/shards/beta/L3/") for f in remaining)
    assert sf.layout().shard("alpha", "L3", "math") in remaining
    assert main(["redo", "--model", "alpha", "--configfile", config]) == 0
    assert not any(f.startswith("results/shards/alpha/") for f in existing(work))


def test_errors_narrowed_to_a_model_without_errors_chooses_nothing(done_study, capsys):
    work, config, _ = done_study
    before = existing(work)
    assert main(["redo", "--errors", "--model", "alpha", "--configfile", config]) == 0
    assert existing(work) == before and "nothing to do" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    ([], ["choose what to redo", "--errors"]),
    (["--shard", "alpha/L9/math"], ["--shard alpha/L9/math", "MODEL/LEVEL/CATEGORY"]),
    (["--model", "gamma"], ["--model gamma", "alpha, beta"]),
    (["--level", "L7"], ["--level L7", "L0, L1"]),
])
def test_bad_choices_are_one_line_naming_the_option(done_study, capsys, args, words):
    work, config, _ = done_study
    before = existing(work)
    assert main(["redo", *args, "--configfile", config]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and all(w in err for w in words), err
    assert existing(work) == before


def test_refuses_while_a_live_run_holds_the_lock(done_study, capsys):
    work, config, _ = done_study
    # a live run: another process holding the run's claim on the directory (as a running Snakemake does)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom slmbench.locks import claim_results_dir"
                               "\nclaim_results_dir(sys.argv[1]); print('claimed', flush=True); time.sleep(600)",
                               str(work)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    try:
        assert holder.stdout.readline().strip() == "claimed"
        before = existing(work)
        assert main(["redo", "--errors", "--configfile", config]) == 2
        assert "is working in this directory" in capsys.readouterr().err
        assert existing(work) == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["redo", "--errors", "--configfile", config, "--dry-run"]) == 0  # the run is gone: allowed
