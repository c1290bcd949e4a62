"""The whole workflow, run for real by Snakemake on a reduced demo (2 categories x 5 levels, tiny model)."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import jsonschema
import openpyxl
import pytest
import yaml

from pipeline_helpers import REPO, job_intervals, make_workdir, planned_jobs, snakemake
from slmbench.records import RUN_RECORD_FIELDS

pytestmark = pytest.mark.slow

CATEGORIES = ["math", "coding"]
LEVELS = ["L0", "L1", "L2", "L3", "P"]
WORKBOOKS = ["quality_scores_detailed", "model_comparison", "energy_per_run", "latency_per_run",
             "output_tokens_per_run", "prompt_tokens_per_run"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, tiny_model):
    # quiet windows as the study keeps them (the demo itself overlaps judge and inference: it measures no energy)
    work = make_workdir(tmp_path_factory.mktemp("demo"), tiny_model.parent, categories=CATEGORIES,
                        **{"inference.max_tokens": 16, "judge.max_tokens": 96, "judge.overlap": False})
    proc = snakemake(work, "--cores", "2")
    return work, proc.stdout + proc.stderr


def grep_counts(path: Path, field: str) -> Counter:
    """The reference study's check: grep -o '"<field>":"[^"]*"' | sort | uniq -c."""
    out = subprocess.run(["grep", "-o", f'"{field}":"[^"]*"', str(path)], capture_output=True, text=True).stdout
    return Counter(out.split())


def test_runs_are_counted_per_model_and_level(demo_run):
    work, _ = demo_run
    runs = work / "results/demo/runs_llamacpp.jsonl"
    questions = len(CATEGORIES)  # the demo has one question per category
    assert grep_counts(runs, "model_id") == {'"model_id":"gemma3-270m"': questions * len(LEVELS)}
    assert grep_counts(runs, "level") == {f'"level":"{lvl}"': questions for lvl in LEVELS}


def test_every_record_follows_the_schema(demo_run):
    work, _ = demo_run
    schema = yaml.safe_load((REPO / "workflow/schemas/run_record.schema.yaml").read_text())
    records = [json.loads(line) for line in (work / "results/demo/runs_llamacpp.jsonl").read_text().splitlines()]
    assert len(records) == len(CATEGORIES) * len(LEVELS)
    for record in records:
        jsonschema.validate(record, schema)
        assert list(record) == RUN_RECORD_FIELDS
        assert record["status"] == "ok", record["error"]
        assert record["completion_tokens"] > 0 and record["latency_ms"] > 0 and record["decode_tok_s"] > 0
        assert record["model_sha256"] == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
        assert record["quant"] == "Q4_K_M"
        # no power sensor on a test machine: energy is null with the reason, never 0
        if record["power_source"] == "none":
            assert record["energy_j"] is None and "no power sensor" in record["energy_note"]


def test_prompt_tokens_grow_with_level(demo_run):
    work, _ = demo_run
    records = [json.loads(line) for line in (work / "results/demo/runs_llamacpp.jsonl").read_text().splitlines()]
    for qid in {r["question_id"] for r in records}:
        tokens = {r["level"]: r["prompt_tokens"] for r in records if r["question_id"] == qid}
        assert tokens["L0"] < tokens["L1"] < tokens["L2"] < tokens["L3"], tokens
        assert tokens["P"] > tokens["L0"], tokens


def test_reports_exports_and_validation_exist(demo_run):
    work, _ = demo_run
    res = work / "results/demo"
    for name in WORKBOOKS:
        book = openpyxl.load_workbook(res / f"{name}.xlsx")
        assert book.sheetnames, name
    scores = (res / "scores_absolute.csv").read_text(encoding="utf-8").splitlines()
    assert "total_score" in scores[0] and len(scores) == 1 + len(CATEGORIES) * len(LEVELS)
    exported = res / "exported_responses"
    assert (exported / "all_responses.csv").exists() and (exported / "summary_report.txt").exists()
    assert sorted(p.name for p in (exported / "responses_by_model/gemma3-270m").iterdir())[0] == "Q004_L0.txt"
    assert (res / "validation.txt").read_text().strip()


def test_inference_shards_never_overlap_and_nothing_runs_beside_them(demo_run):
    _, log = demo_run
    intervals = job_intervals(log)
    shards = sorted((s, e) for rule, s, e in intervals if rule == "infer_shard")
    assert len(shards) == len(CATEGORIES) * len(LEVELS), log[-3000:]
    for (_, end), (start, _) in zip(shards, shards[1:]):
        assert start >= end, "two inference shards ran at once"
    # quiet windows: with --cores 2, no other job ran while a shard was measured (1 s resolution here;
    # tests/test_measurement_protocol.py checks the verdicts' millisecond stamps against every run's window)
    others = [(rule, s, e) for rule, s, e in intervals if rule not in ("infer_shard",)]
    overlapping = [o for o in others if any(s < o[2] and o[1] < e for s, e in shards)]
    assert not overlapping, f"jobs ran while an inference shard was measured: {overlapping[:3]}"


def test_rerun_redoes_only_the_missing_shard(demo_run):
    work, _ = demo_run
    res = work / "results/demo"
    for path in [res / "shards/gemma3-270m/L2/math.jsonl", res / "scores/gemma3-270m/L2/math.csv",
                 res / "runs_llamacpp.jsonl", res / "scores_absolute.csv"]:
        path.unlink()
    jobs = planned_jobs(snakemake(work, "-n", "--cores", "1").stdout)
    assert jobs["infer_shard"] == 1 and jobs["judge_shard"] == 1
    assert jobs["merge_runs"] == 1 and jobs["merge_scores"] == 1
    dry = snakemake(work, "-n", "--cores", "1", "-p").stdout
    assert "shards/gemma3-270m/L2/math.jsonl" in dry
    assert not re.search(r"shards/gemma3-270m/(?!L2/math)\S+\.jsonl\s*$", "\n".join(
        line for line in dry.splitlines() if line.strip().startswith("output:")), re.M)
    # and nothing upstream (prompts, model, idle baseline) is redone
    for rule in ("split_prompts", "generate_prompts", "fetch_model", "verify_model", "power_idle"):
        assert rule not in jobs


def _mt_bench_like_spreadsheet(path: Path) -> None:
    """A wide prompt sheet with made-up text (the dry run only needs the file to exist and parse)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["question_id", "category", *LEVELS])
    categories = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]
    for i in range(80):
        sheet.append([81 + i, categories[i // 10], *[f"made-up prompt {i} at {lvl}" for lvl in LEVELS]])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _study_copy(tmp_path) -> Path:
    """A fresh copy of the repository's configs, as a clone has them (no data/, no results/)."""
    work = tmp_path / "study"
    (work / "config").mkdir(parents=True)
    for name in ("config.yaml", "demo.yaml"):
        (work / "config" / name).write_bytes((REPO / "config" / name).read_bytes())
    return work


def test_study_dry_run_needs_no_models_questions_network_or_key(tmp_path, clean_env):
    work = _study_copy(tmp_path)
    _mt_bench_like_spreadsheet(work / "data/generated_prompts.xlsx")
    # the study's own command: no --configfile, the study is the default config
    proc = snakemake(work, "-n", "--cores", "1", "results/model_comparison.xlsx", configfile="",
                     env={"HF_HUB_OFFLINE": "1"})
    jobs = planned_jobs(proc.stdout)
    assert jobs["infer_shard"] == 160 and jobs["judge_shard"] == 160, jobs
    assert jobs["fetch_model"] == 4 and jobs["verify_model"] == 4 and jobs["prompt_audit"] == 1
    assert not (work / "results").exists() and not (work / "models").exists()


def test_a_fresh_clone_without_the_spreadsheet_is_one_line_naming_it(tmp_path, clean_env):
    work = _study_copy(tmp_path)
    proc = snakemake(work, "-n", "--cores", "1", "results/model_comparison.xlsx", configfile="", check=False,
                     env={"HF_HUB_OFFLINE": "1"})
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) <= 3, lines
    assert any("data/generated_prompts.xlsx" in line for line in lines) and "Traceback" not in proc.stderr


def test_a_study_config_missing_a_key_is_named_not_filled_from_the_demo(tmp_path, clean_env):
    work = _study_copy(tmp_path)
    _mt_bench_like_spreadsheet(work / "data/generated_prompts.xlsx")
    study = yaml.safe_load((REPO / "config/config.yaml").read_text())
    del study["inference"]["max_tokens"]
    (work / "config/config.yaml").write_text(yaml.safe_dump(study))
    proc = snakemake(work, "-n", "--cores", "1", "results/model_comparison.xlsx", configfile="", check=False)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if "config error" in line]
    assert proc.returncode != 0 and len(errors) == 1 and "inference.max_tokens" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"inference.max_tokens": "many"}, "max_tokens"),
        ({"judge.backnd": "openai"}, "backnd"),
        ({"categories": ["writing", "../etc"]}, "categories"),
    ],
)
def test_bad_config_stops_with_one_line_naming_the_key(tmp_path, tiny_model, change, expected):
    work = make_workdir(tmp_path, tiny_model.parent, **change)
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert proc.returncode != 0
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if "config error" in line]
    assert len(errors) == 1 and expected in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (work / "results").exists()


def test_model_id_with_a_path_character_is_rejected(tmp_path, tiny_model):
    work = make_workdir(tmp_path, tiny_model.parent)
    config = yaml.safe_load((work / "config/test.yaml").read_text())
    config["models"][0]["id"] = "gemma/../x"
    (work / "config/test.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert proc.returncode != 0
    line = [text for text in (proc.stdout + proc.stderr).splitlines() if "config error" in text]
    assert line and "models" in line[0] and "id" in line[0]
