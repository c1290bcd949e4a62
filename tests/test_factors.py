"""A study of several power modes, stage by stage without Snakemake: the judge asks an answer identical across
modes once (a scripted judge on 127.0.0.1 counts its requests), the merge keeps one run per mode, the scores join
their runs by mode, and status, redo, validation and the viewer see the mode."""

from __future__ import annotations

import json

import pytest
import yaml

from openai_stub_server import StubServer
from slmbench.errors import UserError
from slmbench.judge.runner import judge_records, judge_shard
from slmbench.layout import StudyLayout, shard_keys
from slmbench.merge import merge_runs
from slmbench.records import RunRecord, read_run_records, write_jsonl

QUESTIONS = {1: "What is 2+2?", 2: "Name a colour."}


def run(qid, output, mode, level="L0", **changes):
    return {"question_id": qid, "category": "math", "model_id": "m", "level": level, "status": "ok",
            "output": output, "prompt": "p", "error": None, "power_mode_id": mode, **changes}


def judge_settings(tmp_path, server):
    return {"backend": "openai", "model": "judge-model", "base_url": server.base_url, "api_key_env": "NO_KEY_NEEDED",
            "temperature": 0, "max_tokens": 64, "timeout_s": 10, "cache": str(tmp_path / "cache.sqlite"),
            "concurrency": 4, "repeats": 1, "sleep_s": 0, "max_retries": 1}


def test_an_answer_identical_across_modes_is_asked_once_and_scores_every_run(tmp_path, clean_env):
    runs = [run(1, "4", 0), run(1, "4", 2), run(2, "Blue.", 0), run(2, "Red.", 2)]
    with StubServer() as server:
        rows = judge_records(runs, QUESTIONS, {}, judge_settings(tmp_path, server))
    assert len(server.bodies) == 3  # (Q1, "4") once for both modes; Q2's two different answers each
    assert [(r["question_id"], r["power_mode_id"], r["judge_status"]) for r in rows] == \
        [(1, 0, "ok"), (1, 2, "ok"), (2, 0, "ok"), (2, 2, "ok")]
    assert rows[0]["total_score"] == rows[1]["total_score"] and rows[0]["cache_key"] == rows[1]["cache_key"]


def test_judge_shard_reads_every_modes_runs_and_writes_the_mode(tmp_path, clean_env):
    from slmbench.scores import read_score_rows

    prompts = tmp_path / "p.csv"
    prompts.write_text("question_id,category,level,prompt\n1,math,L0,What is 2+2?\n")
    shards = []
    for mode in (0, 2):
        path = tmp_path / f"{mode}.jsonl"
        write_jsonl(path, [RunRecord(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L0",
                                     question_id=1, category="math", prompt="p", output="4",
                                     power_mode_id=mode).__dict__])
        shards.append(str(path))
    with StubServer() as server:
        judge_shard(shards, prompts, None, tmp_path / "scores.csv", judge_settings(tmp_path, server))
    assert len(server.bodies) == 1
    assert [r.power_mode_id for r in read_score_rows(tmp_path / "scores.csv")] == [0, 2]


def test_the_merge_keeps_one_run_per_mode_and_refuses_a_true_duplicate(tmp_path):
    base = dict(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L0", question_id=1,
                category="math", prompt="p", output="4")
    for mode in (0, 2):
        write_jsonl(tmp_path / f"{mode}.jsonl", [RunRecord(**base, power_mode_id=mode).__dict__])
    assert merge_runs([tmp_path / "0.jsonl", tmp_path / "2.jsonl"], tmp_path / "runs.jsonl") == 2
    assert [r.power_mode_id for r in read_run_records(tmp_path / "runs.jsonl")] == [0, 2]
    with pytest.raises(UserError, match=r"duplicate record \('m', 'L0', 1, 0, 2\)"):
        merge_runs([tmp_path / "2.jsonl", tmp_path / "2.jsonl"], tmp_path / "again.jsonl")


def test_the_report_joins_scores_to_runs_by_mode(tmp_path):
    """Two modes, one question: the two runs get their own verdicts (a study of one mode joins as before)."""
    from slmbench.report.data import join_runs_scores, read_runs, read_scores
    from slmbench.scores import write_score_rows

    base = dict(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L0", question_id=1,
                category="math", prompt="p", output="4")
    write_jsonl(tmp_path / "runs.jsonl", [RunRecord(**base, power_mode_id=m).__dict__ for m in (0, 2)]
                + [RunRecord(**{**base, "question_id": 2}).__dict__])
    verdict = {"factuality": 2.0, "helpfulness": 2.0, "structure": 2.0, "conciseness": 2.0, "judge_status": "ok"}
    write_score_rows([{"question_id": 1, "model_id": "m", "level": "L0", "power_mode_id": 0, **verdict,
                       "total_score": 8.0},
                      {"question_id": 1, "model_id": "m", "level": "L0", "power_mode_id": 2, **verdict,
                       "factuality": 1.0, "total_score": 7.0},
                      {"question_id": 2, "model_id": "m", "level": "L0", **verdict, "total_score": 8.0}],
                     tmp_path / "scores.csv")
    joined = join_runs_scores(read_runs(tmp_path / "runs.jsonl"), read_scores(tmp_path / "scores.csv"))
    assert sorted(zip(joined["question_id"], joined["power_mode_id"], joined["quality"])) == \
        [(1, 0, 8.0), (1, 2, 7.0), (2, -1, 8.0)]  # -1: records.NO_POWER_MODE, no mode recorded


def config_with_modes(tmp_path, modes=("15W", "7W")):
    return {"results_dir": str(tmp_path / "res"), "prompts": {"csv_dir": str(tmp_path / "p")},
            "models_dir": str(tmp_path / "models"), "models": [{"id": "m"}], "levels": ["L0", "L1"],
            "categories": ["math"], "jetson": {"nvpmodel": None, "power_modes": list(modes)}}


def test_redo_picks_one_mode_or_every_mode_of_a_shard(tmp_path, monkeypatch):
    from slmbench.redo import choose_shards, files_to_delete

    config = config_with_modes(tmp_path)
    assert choose_shards(config, ["m/L1/math/7W"]) == [("m", "L1", "math", "7W")]
    assert choose_shards(config, ["m/L1/math"]) == [("m", "L1", "math", "15W"), ("m", "L1", "math", "7W")]
    assert choose_shards(config, modes=["15W"]) == [("m", "L0", "math", "15W"), ("m", "L1", "math", "15W")]
    with pytest.raises(UserError, match=r"--mode 25W: not a mode of this study; the config has: 15W, 7W"):
        choose_shards(config, modes=["25W"])
    with pytest.raises(UserError, match=r"write MODEL/LEVEL/CATEGORY\[/MODE\], e.g. m/L0/math/15W"):
        choose_shards(config, ["m/L9/math/7W"])
    layout = StudyLayout.from_config(config)
    for path in (layout.shard("m", "L1", "math", "7W"), layout.shard("m", "L1", "math", "15W"),
                 layout.scores("m", "L1", "math")):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    deleted = files_to_delete(config, [("m", "L1", "math", "7W")])
    assert layout.shard("m", "L1", "math", "7W") in deleted and layout.scores("m", "L1", "math") in deleted
    assert layout.shard("m", "L1", "math", "15W") not in deleted  # the other mode's measurement stays


def test_status_counts_a_shard_per_mode(tmp_path, monkeypatch):
    import study_files as sf

    from slmbench.profile import load_study_config
    from slmbench.status import collect_status

    monkeypatch.chdir(tmp_path)
    path = sf.write_config(tmp_path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["jetson"].update(nvpmodel=None, power_modes=["15W", "7W"])
    config["models"], config["levels"], config["categories"] = config["models"][:1], ["L0", "L1"], ["math"]
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    sf.write_prompts(tmp_path)
    config, files = load_study_config([str(path)])
    model = config["models"][0]["id"]
    shard = tmp_path / StudyLayout.from_config(config).shard(model, "L0", "math", "7W")
    shard.parent.mkdir(parents=True)
    shard.write_text(RunRecord(model_id=model, model_file="f", model_sha256=None, quant=None, level="L0",
                               question_id=111, category="math", prompt="p", output="x").to_json() + "\n")
    status = collect_status(config, files)
    assert [s.name for s in status.shards] == [f"{model}/{lvl}/math/{mode}" for lvl in ("L0", "L1")
                                               for mode in ("15W", "7W")]
    assert [s.name for s in status.shards if s.done] == [f"{model}/L0/math/7W"]


def test_the_study_has_a_shard_per_mode_and_one_mode_keeps_todays_paths(tmp_path):
    from slmbench.preflight import study_shards

    layout = StudyLayout.from_config(config_with_modes(tmp_path))
    assert shard_keys(["m"], ["L0"], ["math"]) == [("m", "L0", "math")]
    assert layout.shard("m", "L0", "math").endswith("shards/m/L0/math.jsonl")
    assert layout.shard("m", "L0", "math", "7W").endswith("shards/m/L0/math/7W.jsonl")
    assert layout.idle("host", "7W").endswith("power/7W/idle_host.json")
    found = list(study_shards(layout, ["m"], ["L0"], ["math"], ["15W", "7W"]))
    assert [shard for shard, _ in found] == [layout.shard("m", "L0", "math", m) for m in ("15W", "7W")]
    assert all(made[0] == layout.scores("m", "L0", "math") for _, made in found)


def test_validation_counts_runs_per_mode(tmp_path):
    from slmbench.report.data import read_runs
    from slmbench.report.validate import _expected, count_checks

    base = dict(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L0", question_id=1,
                category="math", prompt="p", output="4")
    write_jsonl(tmp_path / "runs.jsonl", [RunRecord(**base, power_mode_id=0).__dict__])
    runs = read_runs(tmp_path / "runs.jsonl")
    checks = {c.name: c for c in count_checks(runs, _expected({"power_modes": ["MAXN", "7W"]}, runs))}
    assert checks["runs of model m"].status == "FAIL" and "x 2 power modes = 2" in checks["runs of model m"].detail
    assert checks["power modes"].status == "FAIL"  # only one of the two modes was measured


def test_the_viewer_shows_a_row_per_mode(tmp_path):
    from slmbench.report.viewer import render_index_html

    runs = [json.loads(RunRecord(model_id="m", model_file="f", model_sha256=None, quant=None, level="L0",
                                 question_id=1, category="math", prompt="p", output=f"answer in {name}",
                                 power_mode=f"{name} (nvpmodel {mode}); clocks max", power_mode_id=mode).to_json())
            for mode, name in ((0, "MAXN"), (2, "7W"))]
    page = render_index_html(runs, [], StudyLayout(str(tmp_path), str(tmp_path), str(tmp_path)), tmp_path)
    assert "2 power modes" in page and "answer in MAXN" in page and "answer in 7W" in page
    assert '<th class="level">L0 MAXN</th>' in page and '<th class="level">L0 7W</th>' in page
