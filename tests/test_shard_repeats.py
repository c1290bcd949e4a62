"""Shards measured twice (inference.shard_repeats): which ones, where their records go, and the shard noise they
measure (checked against a generated study with a known shard effect)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planted_study import write_planted_study

from slmbench.layout import StudyLayout, shard_keys
from slmbench.merge import merge_runs
from slmbench.records import RunRecord, read_run_records, write_jsonl
from slmbench.report.shard_noise import shard_noise, shard_noise_lines
from slmbench.run_order import repeated_shards

MODELS = ["a", "b", "c"]
LEVELS = ["L0", "L1", "L2", "L3", "P"]
CATEGORIES = ["writing", "math", "stem"]


def test_a_seeded_few_shards_per_model_are_repeated():
    keys = shard_keys(MODELS, LEVELS, CATEGORIES, ["15W", "MAXN"])
    chosen = repeated_shards(keys, 2, seed=5)
    assert sorted(k[0] for k in chosen) == ["a", "a", "b", "b", "c", "c"]
    assert set(chosen) <= set(keys) and chosen == repeated_shards(keys, 2, seed=5)
    assert chosen != repeated_shards(keys, 2, seed=6)
    assert repeated_shards(keys, 0, seed=5) == []


def test_the_repeat_file_sits_beside_its_shard_and_never_matches_a_shard_path():
    layout = StudyLayout(results_dir="res", prompts_dir="p", models_dir="m")
    assert layout.shard_repeat("a", "L1", "math") == "res/shards/a/L1/math.repeat1.jsonl"
    assert layout.shard_repeat("a", "L1", "math", "MAXN") == "res/shards/a/L1/math/MAXN.repeat1.jsonl"
    assert layout.shard_repeats == "res/shard_repeats.jsonl"


def _record(question_id, energy, shard_repeat=0, repeat=0):
    return RunRecord(model_id="a", model_file="a.gguf", model_sha256=None, quant=None, level="L0",
                     question_id=question_id, category="math", prompt="p", output="4", energy_j=energy,
                     status="ok", shard_position=0 if not shard_repeat else 9, shard_item=question_id,
                     shard_repeat=shard_repeat, repeat=repeat).__dict__


def test_the_merge_keeps_repeated_shards_out_of_the_runs(tmp_path):
    write_jsonl(tmp_path / "s.jsonl", [_record(1, 1.0), _record(2, 1.1), _record(1, 1.05, repeat=1)])
    write_jsonl(tmp_path / "s.repeat1.jsonl", [_record(1, 1.3, 1), _record(2, 1.2, 1)])
    written = merge_runs([tmp_path / "s.jsonl", tmp_path / "s.repeat1.jsonl"], tmp_path / "runs.jsonl")
    assert written == 2  # the study's counts: one record per question
    assert [r.repeat for r in read_run_records(tmp_path / "timing_repeats.jsonl")] == [1]
    again = read_run_records(tmp_path / "shard_repeats.jsonl")
    assert [(r.question_id, r.shard_repeat, r.energy_j) for r in again] == [(1, 1, 1.3), (2, 1, 1.2)]


def _generated(shards, questions, shard_sd, run_sd, seed):
    """Runs of `shards` shards measured twice (and one timing repeat per question) with a known shard effect."""
    rng = np.random.default_rng(seed)
    first, second, timing = [], [], []
    for s in range(shards):
        effects = rng.normal(0, shard_sd, 2)  # the shard's state in each of its two runs
        for q in range(questions):
            base = dict(model_id="m", level="L0", category=f"c{s}", power_mode_id=-1, question_id=q, variant=0,
                        status="ok", latency_ms=1000.0)
            question = rng.normal(10, 3)  # cancels between the two runs of a shard
            first.append({**base, "energy_j": question + effects[0] + rng.normal(0, run_sd)})
            second.append({**base, "energy_j": question + effects[1] + rng.normal(0, run_sd)})
            timing.append({**base, "energy_j": question + effects[0] + rng.normal(0, run_sd)})  # same shard run
    return pd.DataFrame(first), pd.DataFrame(second), pd.DataFrame(timing)


def test_the_shard_sd_is_recovered_from_a_study_with_a_known_shard_effect():
    first, second, timing = _generated(shards=400, questions=10, shard_sd=2.0, run_sd=1.5, seed=3)
    table = shard_noise(first, second, timing).set_index("outcome")
    energy = table.loc["energy_j"]
    assert energy["repeated_shards"] == 400 and energy["questions_per_shard"] == 10
    assert energy["sd_run_within_shard"] == pytest.approx(1.5, rel=0.1)
    assert energy["sd_shard"] == pytest.approx(2.0, rel=0.1)
    # between the two runs a shard mean moves by sqrt(2^2 + 1.5^2 / 10), more than the shard sd alone
    assert energy["sd_shard_mean_between_runs"] == pytest.approx((4 + 2.25 / 10) ** 0.5, rel=0.1)
    # no shard effect: the estimate is near 0, not 2
    flat = shard_noise(*_generated(shards=400, questions=10, shard_sd=0.0, run_sd=1.5, seed=4)).set_index("outcome")
    assert flat.loc["energy_j", "sd_shard"] < 0.4
    assert shard_noise(first, None).empty


def test_the_data_quality_notes_show_the_shard_noise(tmp_path):
    from slmbench.report.data import load_study
    from slmbench.report.dataquality import data_quality_notes

    runs_path, scores_path, runs, _ = write_planted_study(tmp_path)
    shard = [dict(r) for r in runs if (r["model_id"], r["level"], r["category"]) == ("gains", "L1", "math")]
    write_jsonl(tmp_path / "shard_repeats.jsonl",
                [{**r, "shard_repeat": 1, "energy_j": r["energy_j"] + 0.5} for r in shard])
    lines = [text for topic, text in data_quality_notes(load_study(runs_path, scores_path)) if topic == "shard noise"]
    assert len(lines) == 2 and lines[0].startswith("energy_j: 1 shard(s) measured twice (8 questions each)")
    assert "mean change +0.5 J" in lines[0] and lines[1].startswith("latency_ms")
    assert shard_noise_lines(pd.DataFrame()) == []


def test_the_plan_repeats_a_shard_per_model_after_every_shard_and_calibrates_the_sensor_first(tmp_path):
    import re

    from pipeline_helpers import make_workdir, planned_jobs, snakemake

    work = make_workdir(tmp_path, tmp_path / "models", **{"inference.shard_repeats": 1})
    dry = snakemake(work, "-n", "-p", "--cores", "1").stdout
    jobs = planned_jobs(dry)
    assert jobs["repeat_shard"] == 1 and jobs["power_calibrate"] == 1 and jobs["infer_shard"] >= 10, jobs
    block = dry.split("rule repeat_shard:", 1)[1].split("\n\n", 1)[0]
    out = re.search(r"output: (\S+)", block).group(1)
    assert out.endswith(".repeat1.jsonl") and "/shards/gemma3-270m/" in out
    assert "--shard-repeat 1" in block and f"--shard-position {jobs['infer_shard']} " in block  # after them all
    shard = dry.split("rule infer_shard:", 1)[1].split("\n\n", 1)[0]
    assert "--shard-repeat 0" in shard and re.search(r"--calibration \S+/power/calibration_\S+\.json", shard)
    merge = dry.split("rule merge_runs:", 1)[1].split("\n\n", 1)[0]
    assert out in merge and "--shard-repeats-out" in merge
