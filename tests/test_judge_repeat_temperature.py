"""Repeated verdicts are asked at judge.repeat_temperature (a scripted judge on 127.0.0.1 records every request),
and that temperature is part of the repeats' cache key."""

from __future__ import annotations

from openai_stub_server import StubServer
from slmbench.judge.runner import judge_records

QUESTIONS = {1: "What is 2+2?", 2: "Name a colour."}


def _runs():
    return [{"question_id": q, "category": "math", "model_id": "m", "level": "L0", "status": "ok", "output": text,
             "prompt": "p", "error": None, "power_mode_id": None} for q, text in ((1, "4"), (2, "Blue."))]


def _settings(tmp_path, server, repeat_temperature):
    return {"backend": "openai", "model": "judge-model", "base_url": server.base_url, "api_key_env": "NO_KEY_NEEDED",
            "temperature": 0, "max_tokens": 64, "timeout_s": 10, "cache": str(tmp_path / "cache.sqlite"),
            "concurrency": 1, "repeats": 2, "sleep_s": 0, "max_retries": 1, "repeat_temperature": repeat_temperature}


def test_repeats_run_at_the_repeat_temperature_and_are_cached_by_it(tmp_path, clean_env):
    with StubServer() as server:  # one server: its address is part of the judge's identity
        rows = judge_records(_runs(), QUESTIONS, {}, _settings(tmp_path, server, 0.7))
        sent = sorted(body["temperature"] for body in server.bodies)
        assert sent == [0, 0, 0.7, 0.7]  # each answer: its verdict greedy, its repeat at 0.7
        assert sorted(r["repeat"] for r in rows) == [0, 0, 1, 1] and all(r["judge_status"] == "ok" for r in rows)

        # another repeat temperature: the first verdicts come from the cache, the repeats are asked again
        again = judge_records(_runs(), QUESTIONS, {}, _settings(tmp_path, server, 0.3))
        assert sorted(body["temperature"] for body in server.bodies[4:]) == [0.3, 0.3]
    first = {(r["question_id"], r["repeat"]): r["cache_key"] for r in rows}
    second = {(r["question_id"], r["repeat"]): r["cache_key"] for r in again}
    assert all(first[(q, 0)] == second[(q, 0)] and first[(q, 1)] != second[(q, 1)] for q in QUESTIONS)
