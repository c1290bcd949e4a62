"""The OpenAI-compatible judge against llama-cpp-python's own server (`python -m llama_cpp.server`) on
127.0.0.1, serving the real tiny GGUF: structured output, blind requests, cached reruns."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from slmbench.judge.runner import judge_records

pytest.importorskip("uvicorn", reason="llama-cpp-python[server] is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tiny_model, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_model), "--host",
                                 "127.0.0.1", "--port", str(port), "--chat_format", "gemma", "--n_ctx", "2048",
                                 "--n_threads", "2", "--model_alias", "tiny-judge"], stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_llama_cpp_server_judges_with_structured_output(tmp_path, clean_env, llama_server):
    from slmbench.llm.openai_client import OpenAIClient

    records = [
        {"question_id": 1, "category": "math", "model_id": "hidden-model", "level": "L3", "status": "ok",
         "output": "2 + 2 = 4.", "error": None},
        {"question_id": 2, "category": "writing", "model_id": "hidden-model", "level": "L3", "status": "ok",
         "output": "Blue is the colour of the sky.", "error": None},
    ]
    questions = {1: "What is 2+2?", 2: "Name a colour."}
    settings = {"backend": "openai", "model": "tiny-judge", "base_url": llama_server, "api_key_env": "NO_SUCH_KEY",
                "temperature": 0, "max_tokens": 200, "timeout_s": 300, "max_retries": 1,
                "cache": str(tmp_path / "cache.sqlite"), "concurrency": 1, "repeats": 1, "sleep_s": 0}
    judge = OpenAIClient(settings)
    sent = []  # what reaches the server (it keeps no request log of its own)
    original = judge.client.chat.completions.create

    def counting(**kwargs):
        sent.append(kwargs)
        return original(**kwargs)

    judge.client.chat.completions.create = counting
    rows = judge_records(records, questions, {}, settings, judge=judge)
    statuses = [r["judge_status"] for r in rows]
    assert set(statuses) <= {"ok", "parse_error"} and "ok" in statuses, rows
    for row in rows:
        if row["judge_status"] == "ok":  # schema-constrained: half points, total computed in code
            parts = [row[d] for d in ("factuality", "helpfulness", "structure", "conciseness")]
            assert all(0 <= p <= 2.5 and p * 2 == int(p * 2) for p in parts) and row["total_score"] == sum(parts)
            assert row["judge_endpoint"] == llama_server.split("//")[1] and row["judge_prompt_tokens"] > 0
    # the server took the request in some structured mode; if it refused json_schema the judge fell back
    # (sent in extra_body: the SDK would otherwise walk the schema at every request, see openai_client.py)
    assert all("response_format" in (k.get("extra_body") or {}) for k in sent)
    sent_text = json.dumps(sent, default=repr)  # the SDK's Omit sentinel (no header) is not JSON
    assert "hidden-model" not in sent_text and "L3" not in sent_text
    before = len(sent)
    judge_records(records, questions, {}, settings, judge=judge)
    # cached: nothing reaches the server again, except a verdict cut at max_tokens (never cached: asked again,
    # with its one repair retry)
    cut = sum(str(r.get("reason", "")).startswith("cut at judge.max_tokens") for r in rows)
    assert len(sent) - before <= 2 * cut and (cut or len(sent) == before)
