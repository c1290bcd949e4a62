"""The live lines a run prints: one per inference (real tiny GGUF), one per verdict (real HTTP judge stub)."""

from __future__ import annotations

import os
import re

from fake_tegrastats import install_fake_tegrastats
from openai_stub_server import StubServer
from slmbench.inference import run_shard
from slmbench.judge.runner import judge_records
from slmbench.live import inference_line, verdict_line
from slmbench.records import RunRecord
from test_inference import spec
from test_judge import QUESTIONS, records, settings

LATENCY_LINE = re.compile(r"^\[L0\] Q(\d+) math  Latency: \d+\.\dms \| Tokens: \d+→\d+ \| Energy: (n/a|\d+\.\d{3}J)$")


def run(**fields) -> RunRecord:
    values = dict(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L1", question_id=81,
                  category="writing", prompt="p", prompt_tokens=61, completion_tokens=178, latency_ms=2345.64,
                  energy_j=3.4561)
    return RunRecord(**{**values, **fields})


def test_the_seed_format():
    assert inference_line(run()) == "[L1] Q81 writing  Latency: 2345.6ms | Tokens: 61→178 | Energy: 3.456J"
    assert inference_line(run(energy_j=None)).endswith("| Energy: n/a")
    failed = run(status="error", error="prompt has 5000 tokens, more than n_ctx - max_tokens = 3072; raise it")
    assert inference_line(failed) == ("[L1] Q81 writing  ERROR: prompt has 5000 tokens, more than n_ctx - max_tokens "
                                      "= 3072; raise it")
    row = {"question_id": 81, "model_id": "qwen1.5-1.8b", "level": "L0", "judge_status": "ok", "total_score": 8.5,
           "reason": "Accurate and well organised. " * 5}
    line = verdict_line(2, 200, row)
    assert line.startswith("[2/200] Judging Q81 - qwen1.5-1.8b - L0  Score: 8.5/10 - Accurate and well organised.")
    assert line.endswith(" ...") and len(line) < 160
    unreadable = {**row, "judge_status": "parse_error", "total_score": None}
    assert "Score: none (parse_error)" in verdict_line(1, 1, unreadable)


def test_every_inference_prints_its_line_and_the_shard_its_load_time_and_idle_power(tmp_path, tiny_model, capsys):
    run_shard(spec(tmp_path, tiny_model))
    # ours, in order, among llama.cpp's own messages
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("model ", "idle ", "[L0]"))]
    assert re.fullmatch(r"model tiny loaded in \d+\.\d s \(gemma-3-270m-q4_k_m\.gguf\)", err[0])
    assert err[1].startswith("idle power: n/a")
    lines = err[2:]
    # one line per answer, in the order the shard ran them (a seeded order: slmbench.run_order)
    assert sorted(LATENCY_LINE.match(line).group(1) for line in lines) == ["1", "2"]
    assert all(line.endswith("Energy: n/a") for line in lines)  # no power sensor here


def test_measured_energy_and_the_idle_baseline_are_printed(tmp_path, tiny_model, monkeypatch, capsys):
    exe = install_fake_tegrastats(tmp_path / "bin", profile_mw=6000, fmt="jp6")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    run_shard(spec(tmp_path, tiny_model, idle_power_mw=2000.0,
                   power={"backend": "tegrastats", "interval_ms": 20, "max_gap_factor": 5}))
    err = capsys.readouterr().err
    assert "idle power: 2000 mW (power source tegrastats)" in err
    energies = [m.group(2) for m in map(LATENCY_LINE.match, err.splitlines()) if m]
    assert len(energies) == 2 and all(e.endswith("J") and e != "n/a" for e in energies)


def test_every_verdict_prints_its_line(tmp_path, clean_env, capsys):
    clean_env.setenv("SLMBENCH_TEST_KEY", "sk-test-not-a-real-key")
    with StubServer() as server:
        judge_records(records(n_error=1), QUESTIONS, {1: "4"}, settings(tmp_path, server))
    lines = [line for line in capsys.readouterr().err.splitlines() if "Judging" in line]
    # two answers asked (the failed run is not sent); the two workers may finish in either order
    assert sorted(line.split("] ", 1)[0] for line in lines) == ["[1/2", "[2/2"]
    assert sorted(line.split("] ", 1)[1] for line in lines) == ["Judging Q1 - secret-model-x - L3  Score: 7/10 - fine",
                                                               "Judging Q2 - secret-model-x - L3  Score: 7/10 - fine"]


def test_a_script_job_echoes_its_live_lines_to_the_console_and_keeps_everything_in_its_log(tmp_path, capfd,
                                                                                         monkeypatch):
    import sys
    from types import SimpleNamespace

    from slmbench.live import JUDGE_CONSOLE_PREFIXES
    from slmbench.shim import run_step

    monkeypatch.setattr(sys, "stderr", sys.stderr)  # run_step points stderr at the log for the job's life
    log = tmp_path / "judge.log"

    def step():
        print("llama_model_loader: 12 tensors", file=sys.stderr)
        sys.stderr.write("[1/2] Judging Q1 - m - L0  Score: 7/10")  # a line written in pieces
        sys.stderr.write(" - fine\n")
        print("slmbench: judge gpt-4o: 2 rows (2 ok)", file=sys.stderr)

    run_step(SimpleNamespace(log=[str(log)]), step, echo=JUDGE_CONSOLE_PREFIXES)
    sys.stderr.flush()
    assert capfd.readouterr().err.splitlines() == ["[1/2] Judging Q1 - m - L0  Score: 7/10 - fine",
                                                   "slmbench: judge gpt-4o: 2 rows (2 ok)"]
    assert log.read_text().splitlines() == ["llama_model_loader: 12 tensors",
                                            "[1/2] Judging Q1 - m - L0  Score: 7/10 - fine",
                                            "slmbench: judge gpt-4o: 2 rows (2 ok)"]


def test_a_verdict_from_the_cache_prints_its_line_too(tmp_path, clean_env, capsys):
    clean_env.setenv("SLMBENCH_TEST_KEY", "sk-test-not-a-real-key")
    with StubServer() as server:
        judge_records(records(n_error=1), QUESTIONS, {1: "4"}, settings(tmp_path, server))
        capsys.readouterr()
        asked = len(server.bodies)
        judge_records(records(n_error=1), QUESTIONS, {1: "4"}, settings(tmp_path, server))
        assert len(server.bodies) == asked  # nothing asked again
    lines = [line for line in capsys.readouterr().err.splitlines() if "Judging" in line]
    assert sorted(lines) == ["[1/2] Judging Q1 - secret-model-x - L3  Score: 7/10 - fine  (cached)",
                             "[2/2] Judging Q2 - secret-model-x - L3  Score: 7/10 - fine  (cached)"]
