"""Every bad input the issues name, in one matrix, through the real command line: non-zero exit (or an error
record where that is the contract), one line naming the file, row or field, no traceback, nothing lost."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from fake_tegrastats import install_fake_tegrastats
from openai_stub_server import StubServer, chat_reply
from pipeline_helpers import inference_settings

REPO = Path(__file__).resolve().parents[1]
LEVELS = ["L0", "L1", "L2", "L3", "P"]


def cli(*args, env=None, cwd=None):
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=300)


def sheet(path, rows, header=("question_id", "category", "level", "prompt")):
    book = openpyxl.Workbook()
    book.active.append(list(header))
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def good_rows(qid=1):
    return [[qid, "math", lvl, f"prompt {lvl}"] for lvl in LEVELS]


def case_spreadsheet_duplicate(tmp, model):
    book = sheet(tmp / "dup.xlsx", good_rows() + [[1, "math", "L2", "again"]])
    return cli("prompts", "convert", "--excel", book, "--outdir", tmp / "out", "--split"), ["dup.xlsx", "row 7"]


def case_spreadsheet_non_text(tmp, model):
    book = sheet(tmp / "num.xlsx", good_rows()[:4] + [[1, "math", "P", 3.5]])
    return cli("prompts", "convert", "--excel", book, "--outdir", tmp / "out", "--split"), ["num.xlsx", "column prompt"]


def case_spreadsheet_unknown_level(tmp, model):
    book = sheet(tmp / "lvl.xlsx", good_rows() + [[1, "math", "L7", "x"]])
    return cli("prompts", "convert", "--excel", book, "--outdir", tmp / "out", "--split"), ["lvl.xlsx", "L7"]


def case_spreadsheet_missing_column(tmp, model):
    book = sheet(tmp / "col.xlsx", [[1, "math", "L0"]], header=("question_id", "category", "level"))
    return cli("prompts", "convert", "--excel", book, "--outdir", tmp / "out", "--split"), ["col.xlsx", "row 1"]


def case_model_truncated(tmp, model):
    cut = tmp / "cut.gguf"
    cut.write_bytes(model.read_bytes()[: 50_000_000])
    return cli("models", "verify", cut, "--out", tmp / "out" / "facts.json"), ["cut.gguf", "not a readable GGUF"]


def case_model_wrong_quant(tmp, model):
    proc = cli("models", "verify", model, "--expect-quant", "Q6_K", "--out", tmp / "out" / "facts.json")
    return proc, ["Q4_K_M", "Q6_K"]


def case_questions_offline(tmp, model):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp / "out" / "question.jsonl"
    return cli("prompts", "fetch", "--url", f"http://127.0.0.1:{port}/q.jsonl", "--out", out), [str(out)]


def case_tegrastats_missing(tmp, model):
    return cli("power", "measure", "--seconds", "0.3", "--backend", "tegrastats",
               env={"PATH": str(Path(sys.executable).parent)}), ["tegrastats not found", "power.tegrastats_path"]


def case_tegrastats_silent(tmp, model):
    exe = install_fake_tegrastats(tmp / "bin", stall_after_lines=0)
    return cli("power", "measure", "--seconds", "0.3", "--backend", "tegrastats",
               env={"PATH": f"{exe.parent}{os.pathsep}{os.environ['PATH']}"}), ["tegrastats printed no power reading"]


def _judge_case(tmp, script):
    runs = tmp / "runs.jsonl"
    runs.write_text(json.dumps({"question_id": 1, "category": "math", "model_id": "m", "level": "L0", "status": "ok",
                                "output": "4", "error": None}) + "\n")
    questions = tmp / "q.jsonl"
    questions.write_text('{"question_id": 1, "category": "math", "turns": ["2+2?"]}\n')
    with StubServer(script) as server:
        return cli("judge", "--questions", questions, "--runs", runs, "--out", tmp / "out" / "scores.csv",
                   "--base-url", server.base_url, "--model", "j", "--cache", tmp / "c.sqlite",
                   env={"OPENAI_API_KEY": "sk-matrix-sentinel"})


def case_judge_401(tmp, model):
    proc = _judge_case(tmp, lambda n, body: (401, {}, {"error": {"message": "no", "type": "auth"}}))
    return proc, ["401", "OPENAI_API_KEY"]


def case_config_unknown_key(tmp, model):
    from pipeline_helpers import make_workdir, snakemake

    work = make_workdir(tmp / "wf", model.parent, **{"judge.temperatur": 0})
    return snakemake(work, "-n", "--cores", "1", check=False), ["config error", "temperatur"]


FAILING = [case_spreadsheet_duplicate, case_spreadsheet_non_text, case_spreadsheet_unknown_level,
           case_spreadsheet_missing_column, case_model_truncated, case_model_wrong_quant, case_questions_offline,
           case_tegrastats_missing, case_tegrastats_silent, case_judge_401, case_config_unknown_key]


@pytest.mark.parametrize("case", FAILING, ids=lambda c: c.__name__[5:])
def test_bad_input_stops_with_one_line(case, tmp_path, tiny_model):
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "earlier_result.csv"
    earlier.write_text("kept\n")  # something a previous run wrote must survive
    proc, names = case(tmp_path, tiny_model)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, proc.stderr[-2000:]
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert "Traceback" not in proc.stderr and "sk-matrix-sentinel" not in proc.stderr + proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["earlier_result.csv"] and earlier.read_text() == "kept\n"


def test_bad_items_become_counted_records_not_crashes(tmp_path, tiny_model):
    """A prompt too long for the context and an unparsable verdict are recorded, and the run completes."""
    prompts = tmp_path / "p.csv"
    prompts.write_text("question_id,category,level,prompt\n1,math,L0,Two plus two?\n2,math,L0," + "word " * 600 + "\n")
    shard = tmp_path / "shard.jsonl"
    proc = subprocess.run([sys.executable, "-m", "slmbench.inference", "--prompts", prompts, "--model-id", "m",
                           "--model-file", tiny_model, "--level", "L0", "--category", "math", "--chat-format=gemma",
                           "--settings", json.dumps(inference_settings(max_tokens=8, n_ctx=512, n_gpu_layers=0,
                                                                   power={"backend": "none"})),
                           "--out", shard], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert proc.returncode == 0, proc.stderr
    # by question: the shard runs its questions in a seeded order (slmbench.run_order)
    records = sorted((json.loads(line) for line in shard.read_text().splitlines()), key=lambda r: r["question_id"])
    assert [r["status"] for r in records] == ["ok", "error"] and "n_ctx" in records[1]["error"]
    judged = _judge_case(tmp_path, lambda n, body: (200, {}, chat_reply("garbage, not a verdict")))
    assert judged.returncode == 0, judged.stderr
    row = (tmp_path / "out" / "scores.csv").read_text().splitlines()[1]
    assert ",parse_error," in row and "garbage" in row
