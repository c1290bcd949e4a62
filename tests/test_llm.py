"""The LLM layer (slmbench.llm) on its own: the registry, the settings it insists on, the reply it returns
from a real server on 127.0.0.1 and from the tiny GGUF in-process, and a cache that earlier versions wrote."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys

import pytest

from openai_stub_server import StubServer, chat_reply
from slmbench.errors import UserError
from slmbench.llm import ChatClient, ReplySchema, client_identity, make_client
from slmbench.llm.cache import ContentCache, content_key


def openai_settings(base_url, **extra) -> dict:
    return {"backend": "openai", "model": "m", "base_url": base_url, "api_key_env": "SLMBENCH_TEST_KEY",
            "temperature": 0, "max_tokens": 64, "timeout_s": 10, "max_retries": 0, **extra}


def test_an_unknown_backend_is_answered_with_did_you_mean():
    with pytest.raises(UserError, match=r"judge.backend 'lamacpp' is unknown; did you mean 'llamacpp'\?"):
        make_client({"backend": "lamacpp"})


def test_every_key_a_backend_reads_is_required_and_named():
    settings = openai_settings("http://127.0.0.1:9/v1")
    del settings["max_retries"], settings["timeout_s"]
    with pytest.raises(UserError) as err:
        client_identity(settings)
    assert "lack timeout_s, max_retries" in str(err.value) and "\n" not in str(err.value)


def test_importing_the_layer_and_naming_a_client_loads_no_backend_library():
    code = ("import sys; from slmbench.llm import client_identity; "
            "client_identity({'backend': 'llamacpp', 'model': 'x', 'model_path': None, 'chat_format': None, "
            "'temperature': 0, 'max_tokens': 8}); "
            "print(sorted(m for m in ('openai', 'llama_cpp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_openai_client_reply_names_what_was_sent_and_the_per_call_budget(clean_env):
    with StubServer(lambda n, body: (200, {}, chat_reply("hello"))) as server:
        client = make_client(openai_settings(server.base_url))
        assert isinstance(client, ChatClient)
        messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
        reply = client.complete(messages, max_tokens=7)
        schema = ReplySchema("answer", {"type": "object"}, grammar={"type": "object", "maxProperties": 1})
        client.complete(messages, schema=schema)
    assert (reply.text, reply.model, reply.finish_reason) == ("hello", "stub-judge-2026-01-01", "stop")
    assert reply.messages == messages and reply.usage == {"prompt_tokens": 100, "completion_tokens": 20}
    assert reply.endpoint == server.base_url.split("//")[1]
    assert server.bodies[0]["max_tokens"] == 7 and "response_format" not in server.bodies[0]
    assert server.bodies[1]["max_tokens"] == 64  # the configured budget when the call names none
    assert server.bodies[1]["response_format"]["json_schema"] == {"name": "answer", "schema": {"type": "object"},
                                                                  "strict": True}


def test_a_cache_written_by_the_earlier_judge_cache_stays_valid(tmp_path):
    """Tables and key hashing as the judge's cache made them before the move: entries are found, spending counts."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE verdicts (key TEXT PRIMARY KEY, row TEXT NOT NULL)")
        db.execute("CREATE TABLE spend (key TEXT, judge TEXT, usd REAL, prompt_tokens INTEGER, "
                   "completion_tokens INTEGER, at REAL)")
        db.execute("CREATE TABLE reservations (id INTEGER PRIMARY KEY, host TEXT, pid INTEGER, usd REAL, at REAL)")
        old_key = hashlib.sha256(json.dumps(["judge", "rubric-2", "q", "", "a", 0]).encode()).hexdigest()
        db.execute("INSERT INTO verdicts VALUES (?, ?)", (old_key, json.dumps({"judge_status": "ok"})))
        db.execute("INSERT INTO spend VALUES (?, 'j', 0.5, 10, 2, 0)", (old_key,))
    cache = ContentCache(path)
    try:
        assert content_key("judge", "rubric-2", "q", "", "a", 0) == old_key
        assert cache.get(old_key) == {"judge_status": "ok"}
        cache.put("new", {"text": "t"}, spender="w", usd=0.25, usage={"prompt_tokens": 3, "completion_tokens": 4})
        with pytest.raises(UserError, match=r"\$0.75 spent so far"):
            cache.reserve(0.5, 1.0, 1)
    finally:
        cache.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT judge, prompt_tokens, completion_tokens FROM spend WHERE key = 'new'").fetchone() == (
            "w", 3, 4)


@pytest.mark.slow
def test_llamacpp_client_folds_the_system_role_only_where_the_template_has_none(tiny_model):
    """Decided by probing the chat template (chat.py), not by the format's name."""
    messages = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Sky colour?"}]
    base = {"backend": "llamacpp", "model": "tiny", "model_path": str(tiny_model), "temperature": 0, "max_tokens": 4,
            "n_ctx": 256}
    gemma = make_client({**base, "chat_format": "gemma"})
    reply = gemma.complete(messages)
    assert reply.messages == [{"role": "user", "content": "Answer in one word.\n\nSky colour?"}]
    assert reply.endpoint == "in-process" and reply.finish_reason in ("stop", "length")
    assert reply.usage["prompt_tokens"] > 0
    chatml = make_client({**base, "chat_format": "chatml"})
    assert chatml.complete(messages).messages == messages
    with pytest.raises(UserError, match="no tokenizer.chat_template; set judge.chat_format"):
        make_client({**base, "chat_format": None})  # the tiny GGUF carries no template
