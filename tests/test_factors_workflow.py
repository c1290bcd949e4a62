"""Power modes and the serving runtime as study factors, through the real Snakemake workflow: a reduced demo in two
power modes on a fake Jetson (tests/fake_jetson.py's nvpmodel logs every call; fake tegrastats), judged by a
scripted judge on 127.0.0.1 that counts its requests, and the same demo with the openai-server runtime against
`python -m llama_cpp.server`; and the study's dry run planning models x levels x categories x modes."""

from __future__ import annotations

import json
import os
from collections import Counter
from itertools import product

import pytest
import yaml

from fake_jetson import calls, install_fake_jetson
from fake_tegrastats import install_fake_tegrastats
from pipeline_helpers import make_workdir, planned_jobs, snakemake
from test_pipeline import _mt_bench_like_spreadsheet, _study_copy

pytestmark = pytest.mark.slow

CATEGORIES, LEVELS = ["math", "coding"], ["L0", "L1"]
MODES = [2, 0]  # ids (the workflow reads the board's /etc/nvpmodel.conf, which this machine lacks): 7W and MAXN
RES = "results/demo"
REDUCED = {"categories": CATEGORIES, "levels": LEVELS, "inference.max_tokens": 12, "inference.timing_repeats": 0.0,
           "power.interval_ms": 50, "power.max_gap_factor": 10, "power.idle_seconds": 0.5,
           "power.idle_per_shard_s": 0.3, "power.backend": "auto",  # the fake tegrastats (the demo measures none)
           "judge.repeat_fraction": 0.0, "judge.overlap": False}


def board_env(tmp_path):
    root = install_fake_jetson(tmp_path, mode=1)  # starts in 15W: neither of the study's modes
    tegrastats = install_fake_tegrastats(tmp_path / "tegra_bin", profile_mw=6000, fmt="jp6")
    return root, {"PATH": os.pathsep.join([str(root / "bin"), str(tegrastats.parent), os.environ["PATH"]]),
                  "FAKE_JETSON_ROOT": str(root)}


def runs_of(work):
    return [json.loads(line) for line in (work / RES / "runs_llamacpp.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def two_modes(tmp_path_factory, tiny_model):
    from openai_stub_server import StubServer

    tmp = tmp_path_factory.mktemp("modes")
    root, env = board_env(tmp)
    with StubServer() as judge:
        work = make_workdir(tmp, tiny_model.parent, **REDUCED, **{
            "jetson.power_modes": MODES, "jetson.settle_s": 0.2, "judge.backend": "openai",
            "judge.base_url": judge.base_url, "judge.model": "stub-judge", "judge.concurrency": 1})
        # --cores 1: one job at a time, so two judge jobs never ask at once for an answer neither has cached
        proc = snakemake(work, "--cores", "1", env=env)
    return work, root, judge, proc.stdout + proc.stderr


def test_every_shard_runs_in_both_modes_and_every_record_names_its_mode(two_modes):
    work, _, _, _ = two_modes
    runs = runs_of(work)
    assert Counter((r["level"], r["category"], r["power_mode_id"]) for r in runs) == \
        Counter(product(LEVELS, CATEGORIES, MODES))  # one question per demo category
    names = {2: "7W (nvpmodel 2)", 0: "MAXN (nvpmodel 0)"}
    for run in runs:
        assert run["status"] == "ok" and run["power_mode"] == names[run["power_mode_id"]]
        assert run["energy_j"] is not None and run["power_source"] == "tegrastats"
    for level, category, mode in product(LEVELS, CATEGORIES, MODES):
        assert (work / RES / f"shards/gemma3-270m/{level}/{category}/{mode}.jsonl").is_file()
        assert (work / RES / f"power/{mode}/idle_{runs[0]['board']}.json").is_file()


def test_the_board_switches_at_most_once_per_mode_per_round(two_modes):
    from slmbench.mode_order import switches

    work, root, _, _ = two_modes
    runs = sorted(runs_of(work), key=lambda r: r["shard_position"])
    # Snakemake followed the designed order (job priorities): the shards started in their positions' order
    assert [r["shard_position"] for r in sorted(runs, key=lambda r: r["started_at"])] == \
        [r["shard_position"] for r in runs]
    switched = [c.split()[-1] for c in calls(root) if c.startswith("nvpmodel -m")]
    # the baselines first (one switch into each mode), then the rounds: run_order has one round per category
    rounds = len(CATEGORIES)
    assert len(switched) <= len(MODES) * (rounds + 1), switched
    shard_modes = [str(r["power_mode_id"]) for r in runs]
    per_round = len(shard_modes) // rounds
    for start in range(0, len(shard_modes), per_round):
        assert switches(shard_modes[start:start + per_round]) <= len(MODES) - 1  # one block per mode
    # every switch the log shows is a change of mode along baselines then shards: none wasted
    idle_modes = switched[:len(MODES)]
    assert len(switched) == len(MODES) + switches([idle_modes[-1], *shard_modes])


def test_the_judge_asks_each_distinct_answer_once(two_modes):
    work, _, judge, log = two_modes
    runs = runs_of(work)
    distinct = {(r["question_id"], r["output"]) for r in runs}
    asked = [json.dumps(body["messages"]) for body in judge.bodies]
    assert len(asked) == len(set(asked)) == len(distinct), log[-3000:]
    # greedy decoding with one build: the modes answered alike, so half the runs cost no verdict
    by_prompt = {}
    for r in runs:
        by_prompt.setdefault((r["level"], r["question_id"]), set()).add(r["output"])
    assert len(judge.bodies) < len(runs) and all(len(outputs) == 1 for outputs in by_prompt.values())
    scores = (work / RES / "scores_absolute.csv").read_text().splitlines()
    assert len(scores) == 1 + len(runs)  # every run of every mode scored


def test_status_redo_and_the_viewer_name_the_modes(two_modes):
    work, _, _, _ = two_modes
    import subprocess
    import sys

    status = subprocess.run([sys.executable, "-m", "slmbench.cli", "status", "--configfile", "config/test.yaml"],
                            cwd=work, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    assert "inference shards: 8/8 done" in status.stdout
    redo = subprocess.run([sys.executable, "-m", "slmbench.cli", "redo", "--configfile", "config/test.yaml",
                           "--dry-run", "--shard", "gemma3-270m/L1/math/0"], cwd=work, capture_output=True,
                          text=True, timeout=120)
    assert redo.returncode == 0, redo.stderr
    assert "1 shard(s) to redo: gemma3-270m/L1/math/0" in redo.stdout
    assert f"would delete {RES}/shards/gemma3-270m/L1/math/0.jsonl" in redo.stdout
    assert "shards/gemma3-270m/L1/math/2.jsonl" not in redo.stdout
    page = (work / RES / "index.html").read_text()
    assert "2 power modes" in page and "<td>7W</td>" in page and "<td>MAXN</td>" in page
    # and a dry run of the finished study plans nothing
    assert "infer_shard" not in planned_jobs(snakemake(work, "-n", "--cores", "1").stdout)


def test_the_openai_server_runtime_answers_as_in_process_with_energy(two_modes, tmp_path, tiny_model):
    """The same demo (one mode) through `python -m llama_cpp.server`, started and stopped by each shard."""
    from openai_stub_server import StubServer

    in_process, _, _, _ = two_modes
    root, env = board_env(tmp_path)
    with StubServer() as judge:
        work = make_workdir(tmp_path, tiny_model.parent, **{
            **REDUCED, "levels": ["L1"], "inference.runtime": "openai-server", "judge.backend": "openai",
            "judge.base_url": judge.base_url, "judge.model": "stub-judge", "judge.concurrency": 1})
        snakemake(work, "--cores", "1", f"{RES}/runs_llamacpp.jsonl", env=env)
    served = runs_of(work)
    assert len(served) == len(CATEGORIES)
    for run in served:
        assert run["status"] == "ok", run["error"]
        assert run["runtime"] == "openai-server" and run["runtime_version"].startswith("llama_cpp.server ")
        for field in ("ttft_ms", "decode_tok_s", "energy_j", "energy_decode_j", "energy_per_token_j"):
            assert run[field] is not None, field
    reference = {(r["level"], r["question_id"]): r for r in runs_of(in_process) if r["power_mode_id"] == MODES[0]}
    differ = {r["question_id"]: (reference[(r["level"], r["question_id"])]["output"], r["output"]) for r in served
              if (r["output"], r["prompt_tokens"]) != (reference[(r["level"], r["question_id"])]["output"],
                                                       reference[(r["level"], r["question_id"])]["prompt_tokens"])}
    assert not differ, f"in-process vs llama_cpp.server answers differ per question: {differ}"
    config = yaml.safe_load((work / "config/test.yaml").read_text())
    assert config["inference"]["server"]["start"] == "llama-cpp-python"  # the demo's default server


def test_the_study_dry_run_plans_models_x_levels_x_categories_x_modes(tmp_path, clean_env):
    work = _study_copy(tmp_path)
    _mt_bench_like_spreadsheet(work / "data/generated_prompts.xlsx")
    modes = tmp_path / "modes.yaml"
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    config["jetson"].update(nvpmodel=None, power_modes=["15W", "25W", "MAXN_SUPER"])
    modes.write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(work, "-n", "--cores", "1", "results/model_comparison.xlsx", configfile=str(modes),
                     env={"HF_HUB_OFFLINE": "1"})
    jobs = planned_jobs(proc.stdout)
    assert jobs["infer_shard"] == 4 * 5 * 8 * 3 and jobs["judge_shard"] == 4 * 5 * 8, jobs
    assert jobs["power_idle"] == 3  # one baseline per mode
    assert not (work / "results").exists()


def test_both_mode_keys_set_stop_the_parse_with_one_line(tmp_path, tiny_model):
    work = make_workdir(tmp_path, tiny_model.parent, **{"jetson.nvpmodel": "MAXN", "jetson.power_modes": [0, 1]})
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "jetson.power_modes (0, 1) replaces jetson.nvpmodel (MAXN)" in proc.stderr
