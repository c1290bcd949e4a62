"""The serving runtime (inference.runtime: openai-server): a shard measured through a real HTTP server on
127.0.0.1 — a scripted streaming server (fast), a fake server executable the runtime starts and stops, and
llama-cpp-python's own server with the real tiny GGUF (slow), compared with the in-process runtime."""

from __future__ import annotations

import json
import os

import pytest
from sse_stub_server import SseServer, install_fake_server, server_calls

from fake_tegrastats import install_fake_tegrastats
from slmbench.errors import UserError
from slmbench.inference import run_shard
from slmbench.serving import FLUSH_MESSAGE, ServerSettings
from test_inference import records, spec, write_prompts

SERVER = {"start": "url", "url": None, "api": "chat", "model": None, "executable": None, "port": 0,
          "start_timeout_s": 60, "args": []}


def server_spec(tmp_path, model, server, **overrides):
    changes = {"runtime": "openai-server", "server": {**SERVER, **server}, **overrides.pop("settings_changes", {})}
    return spec(tmp_path, model, settings_changes=changes, **overrides)


@pytest.mark.parametrize("change, words", [
    ({"start": "ollama"}, "inference.server.start: 'ollama' is not one of llama-cpp-python, llama-server, url"),
    ({"start": "url", "url": None}, "inference.server.url: give the server's base URL exactly when start is url"),
    ({"start": "llama-server", "url": "http://127.0.0.1:1/v1"}, "inference.server.url: give the server's base URL"),
    ({"url": "http://gpu-box.example:8080/v1"},
     "inference.server.url: http://gpu-box.example:8080/v1 is not on this machine; the server must run on the board"),
    ({"api": "responses", "url": "http://127.0.0.1:1/v1"}, "inference.server.api: 'responses' is not one of"),
])
def test_bad_server_settings_are_one_line_naming_the_key(change, words):
    with pytest.raises(UserError, match="^" + words.split(":")[0]) as err:
        ServerSettings.from_mapping({**SERVER, "url": "http://127.0.0.1:1/v1", **change})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_missing_server_keys_are_named():
    with pytest.raises(UserError, match=r"inference.server: missing key\(s\) port, start_timeout_s, args"):
        ServerSettings.from_mapping({k: SERVER[k] for k in ("start", "url", "api", "model", "executable")})


def test_a_shard_through_a_streaming_server_records_its_timings_usage_and_version(tmp_path, monkeypatch):
    """llama-server's flavour: its own timings and usage fill the record; every request says cache_prompt
    false, and no prefix-replacing request is sent to it (it honours cache_prompt)."""
    exe = install_fake_tegrastats(tmp_path / "bin", profile_mw=6000, fmt="jp6")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    with SseServer(flavour="llama-server", token_s=0.02) as server:
        # `url` with llama-server's flavour: no flush; its model name is the one configured
        run_shard(server_spec(tmp_path, _placeholder(tmp_path), {"url": server.base_url, "model": "served-name"},
                              idle_power_mw=2000.0,
                              power={"backend": "tegrastats", "interval_ms": 20, "max_gap_factor": 5}))
    recs = records(tmp_path / "shard.jsonl")
    assert [r["status"] for r in recs] == ["ok", "ok"], recs
    for rec in recs:
        assert rec["output"] == "Red, green and blue." and rec["finish_reason"] == "stop"
        assert (rec["runtime"], rec["runtime_version"]) == ("openai-server", "llama-server b9999-stub")
        assert rec["prompt_tokens"] == 13 and rec["completion_tokens"] == 4  # the server's usage
        assert (rec["prefill_tok_s"], rec["decode_tok_s"]) == (500.0, 100.0)  # the server's own timings
        assert 0 < rec["ttft_ms"] < rec["latency_ms"] and rec["latency_ms"] >= 4 * 20 * 0.9
        assert rec["energy_j"] is not None and rec["energy_per_token_j"] is not None
        assert rec["chat_template_source"] is None  # the chat api: the server's template
    streamed = server.streamed()
    assert len(streamed) == 3  # a warm-up and two prompts
    assert all(b["cache_prompt"] is False and b["temperature"] == 0.0 and b["model"] == "served-name"
               and b["path"] == "/v1/chat/completions" for b in streamed)
    assert len(server.bodies) == 3  # nothing else: llama-server is told cache_prompt false instead


def test_a_server_without_timings_gets_rates_from_the_stream_and_a_prefix_replacing_request(tmp_path):
    with SseServer(flavour="plain", token_s=0.03) as server:
        run_shard(server_spec(tmp_path, _placeholder(tmp_path), {"url": server.base_url}))
    for rec in records(tmp_path / "shard.jsonl"):
        assert rec["prompt_tokens"] is None  # the chat api and a server that gives no usage: not measured
        assert rec["completion_tokens"] == 4  # one streamed event per token
        # 3 tokens after the first, 30 ms apart
        assert rec["decode_tok_s"] == pytest.approx(1 / 0.03, rel=0.5) and rec["prefill_tok_s"] is None
        assert rec["runtime_version"].startswith("BaseHTTP/")  # no version endpoint: its HTTP Server header
    flushes = [b for b in server.bodies if not b.get("stream")]
    assert len(flushes) == 3 and all(b["max_tokens"] == 1 and b["path"] == "/v1/chat/completions"
                                     and b["messages"][0]["content"] == FLUSH_MESSAGE for b in flushes)
    order = [bool(b.get("stream")) for b in server.bodies]
    assert order == [False, True] * 3  # each measured request right after its own flush


def test_the_runtime_starts_and_stops_its_server_with_the_shard_settings(tmp_path):
    exe = install_fake_server(tmp_path / "fake")
    run_shard(server_spec(tmp_path, _placeholder(tmp_path), {"start": "llama-cpp-python", "executable": str(exe)},
                          settings_changes={"n_threads": 2, "n_ctx": 256}))
    calls = server_calls(tmp_path / "fake")
    served = [c for c in calls if c[:2] == ["-m", "llama_cpp.server"]]
    assert len(served) == 1
    argv = served[0]
    for flag, value in (("--n_ctx", "256"), ("--n_threads", "2"), ("--host", "127.0.0.1"), ("--seed", "42"),
                        ("--model", str(_placeholder(tmp_path))), ("--model_alias", "tiny"),
                        ("--chat_format", "gemma")):
        assert argv[argv.index(flag) + 1] == value, flag
    recs = records(tmp_path / "shard.jsonl")
    assert {r["runtime_version"] for r in recs} == {"llama_cpp.server 9.9.9-fake"}
    assert {r["llama_cpp_version"] for r in recs} == {"9.9.9-fake"}
    assert all(r["load_s"] > 0 for r in recs)
    port = int(argv[argv.index("--port") + 1])
    import socket

    with socket.socket() as sock:  # stopped with the shard: nothing listens there any more
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_server_that_fails_to_start_is_one_line_and_no_shard(tmp_path):
    exe = install_fake_server(tmp_path / "fake", fail_start=True)
    with pytest.raises(UserError, match="the server exited \\(status 1\\) while starting: error: cannot load "
                                        "the model \\(fake\\)"):
        run_shard(server_spec(tmp_path, _placeholder(tmp_path), {"start": "llama-server", "executable": str(exe)}))
    assert not (tmp_path / "shard.jsonl").exists()


def test_a_server_that_dies_mid_shard_keeps_no_shard(tmp_path):
    exe = install_fake_server(tmp_path / "fake", exit_after=2)  # the warm-up and the first prompt, then gone
    with pytest.raises(UserError, match="the server exited during the shard .*rerun the workflow"):
        run_shard(server_spec(tmp_path, _placeholder(tmp_path), {"start": "llama-cpp-python", "executable": str(exe)}))
    assert not (tmp_path / "shard.jsonl").exists()


def _placeholder(tmp_path):
    """The chat api renders nothing here, so a scripted server needs no weights: any existing file is the GGUF."""
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


@pytest.mark.slow
def test_llama_cpp_server_gives_the_in_process_answers_with_energy(tmp_path, tiny_model, monkeypatch):
    """The acceptance: the same prompts through `python -m llama_cpp.server` (started by the runtime) and in
    process, with the fake tegrastats: TTFT, decode rate and energy on every record, and the same greedy text."""
    exe = install_fake_tegrastats(tmp_path / "bin", profile_mw=6000, fmt="jp6")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    rows = [(1, "Name three colours."), (2, "What is two plus two?"), (3, "Write one sentence about the sea.")]
    power = {"backend": "tegrastats", "interval_ms": 20, "max_gap_factor": 5}
    common = dict(prompts_csv=write_prompts(tmp_path / "p3.csv", rows), idle_power_mw=2000.0, power=power)
    run_shard(spec(tmp_path, tiny_model, out=tmp_path / "inprocess.jsonl", settings_changes={"max_tokens": 24},
                   **common))
    run_shard(server_spec(tmp_path, tiny_model, {"start": "llama-cpp-python", "api": "completions"},
                          out=tmp_path / "server.jsonl", settings_changes={"max_tokens": 24}, **common))
    inproc, served = records(tmp_path / "inprocess.jsonl"), records(tmp_path / "server.jsonl")
    for rec in served:
        assert rec["status"] == "ok", rec["error"]
        assert rec["runtime"] == "openai-server" and rec["runtime_version"].startswith("llama_cpp.server ")
        for field in ("ttft_ms", "decode_tok_s", "prefill_tok_s", "energy_j", "energy_gross_j", "energy_prefill_j",
                      "energy_decode_j", "energy_per_token_j", "mean_power_mw", "power_samples"):
            assert rec[field] is not None, field
        assert rec["ttft_ms"] < rec["latency_ms"] and rec["chat_template_source"] == "chat_format"
    assert {r["runtime"] for r in inproc} == {"llama-cpp-python"}
    differ = [(a["question_id"], a["output"], b["output"]) for a, b in zip(inproc, served)
              if (a["output"], a["prompt_tokens"]) != (b["output"], b["prompt_tokens"])]
    assert not differ, f"in-process vs server answers differ: {json.dumps(differ)}"
    assert [a["completion_tokens"] for a in inproc] == [b["completion_tokens"] for b in served]
