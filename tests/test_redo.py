"""`slmbench redo`: deletes the chosen shards and everything made from them, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
import study_files as sf

from lock_holder import holding
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
    # a live run: another process holding the study's lock in its results directory, as a running Snakemake does
    with holding(work / "results") as run:
        before = existing(work)
        assert main(["redo", "--errors", "--configfile", config]) == 2
        err = capsys.readouterr().err
        assert f"(pid {run.pid} on host " in err and "is working on the study in" in err and err.count("\n") == 1
        assert existing(work) == before
    assert main(["redo", "--errors", "--configfile", config]) == 0  # the run is gone: allowed
    assert sf.layout().shard("beta", "L2", "math") not in existing(work)


def test_a_run_from_another_directory_is_seen_and_nothing_is_deleted(done_study, tmp_path_factory, capsys):
    """The study's lock is in its results directory: a run started elsewhere (another clone, `snakemake -d`) on
    the same absolute results_dir holds it, and redo from here refuses."""
    work, config, _ = done_study
    elsewhere = tmp_path_factory.mktemp("other_clone")
    with holding((work / "results").resolve(), cwd=elsewhere) as run:
        before = existing(work)
        assert main(["redo", "--model", "alpha", "--configfile", config]) == 2
        err = capsys.readouterr().err
        assert f"pid {run.pid}" in err and f"from {elsewhere}" in err
        assert existing(work) == before


def test_nothing_found_is_an_error_naming_the_path(done_study, tmp_path_factory, capsys, monkeypatch):
    """From the wrong working directory a relative results_dir holds nothing: not "deleted 0 files", exit 0."""
    _, config, _ = done_study
    empty = tmp_path_factory.mktemp("wrong_cwd")
    monkeypatch.chdir(empty)
    for args in (["--shard", "alpha/L0/math"], ["--errors"], ["--model", "beta"]):
        assert main(["redo", *args, "--configfile", config]) == 2
        err = capsys.readouterr().err.strip()
        assert f"nothing found at {empty / 'results'}" in err and err.count("\n") == 0, err
    assert not any(empty.iterdir())  # nothing written there either
