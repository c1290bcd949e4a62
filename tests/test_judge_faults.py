"""Judge faults against the scripted OpenAI-compatible server on 127.0.0.1: fatal replies stop every worker,
transient ones are retried and end in one line, a schema the endpoint refuses falls back to JSON mode, the
cache tells judges apart, and the cost limit holds for the whole study."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from openai_stub_server import VALID, StubServer, chat_reply
from slmbench.errors import UserError
from slmbench.judge.runner import judge_records
from slmbench.scores import merge_score_files as merge_scores

SRC = Path(__file__).resolve().parents[1] / "src"


def answers(n: int) -> tuple[list[dict], dict]:
    recs = [{"question_id": i, "category": "math", "model_id": "m", "level": "L2", "status": "ok",
             "output": f"answer {i}", "error": None} for i in range(n)]
    return recs, {i: f"question {i}" for i in range(n)}


def settings(tmp_path, server, **extra) -> dict:
    return {"backend": "openai", "model": "judge-model", "base_url": server.base_url,
            "api_key_env": "SLMBENCH_TEST_KEY", "temperature": 0, "max_tokens": 64, "timeout_s": 10,
            "cache": str(tmp_path / "cache.sqlite"),
            "concurrency": 4, "repeats": 1, "sleep_s": 0, "max_retries": 3, **extra}


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_fatal_reply_stops_the_queued_requests(tmp_path, clean_env, status):
    clean_env.setenv("SLMBENCH_TEST_KEY", "sk-sentinel-key-42")
    recs, questions = answers(20)
    refusal = {"error": {"message": "no: sk-sentinel-key-42"}}
    with StubServer(lambda n, body: (status, {}, refusal), delay_s=0.05) as server:
        with pytest.raises(UserError) as err:
            judge_records(recs, questions, {}, settings(tmp_path, server))
    # the workers already in flight may each send one; nothing queued behind them is sent
    assert 1 <= len(server.bodies) <= 4, len(server.bodies)
    message = str(err.value)
    assert str(status) in message and "\n" not in message and "sentinel" not in message


def test_persistent_5xx_is_retried_then_one_line_without_traceback(tmp_path, clean_env):
    recs, questions = answers(1)
    runs = tmp_path / "runs.jsonl"
    runs.write_text("".join(json.dumps(r) + "\n" for r in recs))
    qfile = tmp_path / "question.jsonl"
    qfile.write_text(json.dumps({"question_id": 0, "category": "math", "turns": ["question 0"]}) + "\n")
    config = tmp_path / "judge.yaml"
    with StubServer(lambda n, body: (503, {"Retry-After": "0"}, {"error": {"message": "overloaded"}})) as server:
        # a whole config (the study's), its judge section pointed at the server: every key is required
        study = yaml.safe_load((SRC.parent / "config" / "config.yaml").read_text())
        study["judge"].update(settings(tmp_path, server, max_retries=2), repeat_fraction=0.0, judges=[])
        config.write_text(json.dumps(study))
        proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "judge", "--questions", str(qfile), "--runs",
                               str(runs), "--out", str(tmp_path / "s.csv"), "--config", str(config)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert len(server.bodies) == 3  # the first try and max_retries=2 more
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "still failing after 3 tries (HTTP 503)" in error_lines[0]
    assert not (tmp_path / "s.csv").exists()


def test_a_slow_reply_times_out_and_is_asked_again(tmp_path, clean_env):
    import threading

    first = threading.Event()

    def script(n, body):
        if n == 0:
            first.set()
            time.sleep(1.5)  # past the client's timeout
        return 200, {}, chat_reply(json.dumps(VALID))

    recs, questions = answers(1)
    with StubServer(script) as server:
        rows = judge_records(recs, questions, {}, settings(tmp_path, server, timeout_s=0.5))
    assert first.is_set() and rows[0]["judge_status"] == "ok" and len(server.bodies) == 2


def test_retry_after_in_its_three_forms():
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    from slmbench.llm.retry import Backoff, retry_after_seconds

    assert retry_after_seconds({"retry-after": "120"}) == 120.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
    assert 85 <= retry_after_seconds({"retry-after": when}) <= 90
    assert retry_after_seconds({"retry-after": "soon"}) is None and retry_after_seconds({}) is None
    # honoured even past the openai client's 60 s ceiling; without a hint: jittered, growing, capped
    assert Backoff().wait_s(0, 120.0) == 120.0
    waits = [Backoff(base_s=0.5, cap_s=4).wait_s(5, None) for _ in range(200)]
    assert max(waits) <= 4 and min(waits) >= 0 and len(set(waits)) > 100


def test_an_endpoint_without_json_schema_gets_json_object_mode_with_the_schema(tmp_path, clean_env):
    def script(n, body):  # llama-cpp-python's server answers json_schema with HTTP 500 and this message
        if body.get("response_format", {}).get("type") == "json_schema":
            return 500, {}, {"error": {"message": "1 validation error: ('body', 'response_format', 'type') Input "
                                                  "should be 'text' or 'json_object'", "type": "server"}}
        return 200, {}, chat_reply(json.dumps(VALID))

    recs, questions = answers(6)
    with StubServer(script) as server:
        # max_retries=0: changing the mode is not a retry, and a refused mode is not a fault to give up on
        rows = judge_records(recs, questions, {}, settings(tmp_path, server, concurrency=1, max_retries=0))
    assert [r["judge_status"] for r in rows] == ["ok"] * 6
    formats = [b["response_format"] for b in server.bodies]
    assert formats[0]["type"] == "json_schema" and len(formats) == 7  # refused once, then never asked again
    assert all(f["type"] == "json_object" and f["schema"]["required"] for f in formats[1:])


def test_an_endpoint_refusing_every_schema_gets_plain_json_object_mode(tmp_path, clean_env):
    def script(n, body):
        if body["response_format"] != {"type": "json_object"}:
            return 400, {}, {"error": {"message": "unknown field in response_format", "type": "invalid_request"}}
        return 200, {}, chat_reply(json.dumps(VALID))

    recs, questions = answers(2)
    with StubServer(script) as server:
        rows = judge_records(recs, questions, {}, settings(tmp_path, server, concurrency=1))
    assert [r["judge_status"] for r in rows] == ["ok", "ok"] and len(server.bodies) == 4


def test_a_400_about_something_else_stops_with_the_servers_words_and_keeps_the_mode(tmp_path, clean_env):
    # e.g. an answer past the judge's context: not a refused schema, so no mode is given up for it
    clean_env.setenv("SLMBENCH_TEST_KEY", "sk-sentinel-key-42")

    def script(n, body):
        return 400, {}, {"error": {"message": "maximum context length is 2048 tokens (sk-sentinel-key-42)"}}

    recs, questions = answers(3)
    with StubServer(script) as server:
        with pytest.raises(UserError) as err:
            judge_records(recs, questions, {}, settings(tmp_path, server, concurrency=1))
    assert "HTTP 400" in str(err.value) and "maximum context length" in str(err.value)
    assert "sentinel" not in str(err.value)  # a server that echoes the key does not get it printed
    assert [b["response_format"]["type"] for b in server.bodies] == ["json_schema"]


def test_the_verdict_schema_is_valid_for_openai_strict_mode():
    from slmbench.judge.rubric import VERDICT_SCHEMA

    # strict mode: every property required, no extra properties, and none of the keywords it rejects
    assert set(VERDICT_SCHEMA["required"]) == set(VERDICT_SCHEMA["properties"])
    assert VERDICT_SCHEMA["additionalProperties"] is False
    banned = {"maxLength", "minLength", "pattern", "format", "minimum", "maximum"}
    assert not banned & {k for prop in VERDICT_SCHEMA["properties"].values() for k in prop}


def test_a_long_reason_is_cut_not_refused():
    from slmbench.judge.rubric import REASON_CHARS, Verdict

    verdict = Verdict.model_validate({**VALID, "explanation": "x" * 5000})
    assert len(verdict.reason) == REASON_CHARS and verdict.total == 7.0


def test_the_cache_never_gives_one_judges_verdict_to_another(tmp_path, clean_env):
    recs, questions = answers(3)
    with StubServer() as server, StubServer() as other:
        judge_records(recs, questions, {}, settings(tmp_path, server))
        assert len(server.bodies) == 3
        judge_records(recs, questions, {}, settings(tmp_path, server))
        assert len(server.bodies) == 3  # the same judge: all cached
        judge_records(recs, questions, {}, settings(tmp_path, server, model="another-model"))
        assert len(server.bodies) == 6
        judge_records(recs, questions, {}, settings(tmp_path, server, temperature=0.7))
        assert len(server.bodies) == 9
        judge_records(recs, questions, {}, settings(tmp_path, other))  # same model name, another endpoint
        assert len(server.bodies) == 9 and len(other.bodies) == 3


def test_an_all_cached_rerun_needs_no_key_and_no_server(tmp_path, clean_env):
    recs, questions = answers(2)
    with StubServer() as server:
        judge_records(recs, questions, {}, settings(tmp_path, server))
        url = server.base_url
    # server gone: had anything been asked, the run would fail to connect
    rows = judge_records(recs, questions, {}, {**settings(tmp_path, server), "base_url": url, "max_retries": 0})
    assert [r["judge_status"] for r in rows] == ["ok", "ok"]


def estimate(recs, questions, prices) -> float:
    from slmbench.judge.rubric import build_messages
    from slmbench.llm.cost import estimate_usd

    return estimate_usd([build_messages(questions[r["question_id"]], r["output"]) for r in recs], 64, prices)


def test_the_cost_limit_counts_what_the_whole_study_spent(tmp_path, clean_env):
    # each verdict really uses 100 prompt + 20 completion tokens (the stub's usage): $0.12 at $1000/M
    prices = {"input": 1000.0, "output": 1000.0}
    first, questions = answers(4)
    second = [dict(r, question_id=r["question_id"] + 4, output=f"answer {r['question_id'] + 4}") for r in first]
    questions.update({i: f"question {i}" for i in range(4, 8)})
    job = estimate(second, questions, prices)
    with StubServer() as server:
        limit = settings(tmp_path, server, price_per_mtok=prices, max_cost_usd=round(job + 0.1, 2))
        judge_records(first, questions, {}, limit)  # one job alone fits the limit
        spent = sqlite3.connect(tmp_path / "cache.sqlite").execute("SELECT SUM(usd) FROM spend").fetchone()[0]
        assert spent == pytest.approx(4 * 0.12)
        with pytest.raises(UserError, match=r"\$0.48 spent so far .* passes the limit"):
            judge_records(second, questions, {}, limit)  # with the first job's spending, the second does not
        assert len(server.bodies) == 4
        judge_records(second, questions, {}, dict(limit, max_cost_usd=round(job + 0.5, 2)))
        assert len(server.bodies) == 8


def test_a_running_jobs_reservation_counts_and_a_dead_ones_does_not(tmp_path, clean_env):
    import socket

    from slmbench.llm.cache import ContentCache

    prices = {"input": 1000.0, "output": 1000.0}
    recs, questions = answers(2)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with StubServer() as server:
            limit = settings(tmp_path, server, price_per_mtok=prices,
                             max_cost_usd=round(estimate(recs, questions, prices) + 0.5, 2))
            cache = ContentCache(limit["cache"])
            cache.db.execute("INSERT INTO reservations (host, pid, usd, at) VALUES (?, ?, ?, ?)",
                             (socket.gethostname(), sleeper.pid, 0.8, time.time()))
            with pytest.raises(UserError, match=r"\$0.80 held by running judge jobs"):
                judge_records(recs, questions, {}, limit)
            assert server.bodies == []
            sleeper.send_signal(signal.SIGKILL)
            sleeper.wait()
            rows = judge_records(recs, questions, {}, limit)  # its holder died: the hold no longer counts
            assert [r["judge_status"] for r in rows] == ["ok", "ok"]
            left = cache.db.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
            assert left == 0  # the stale hold was dropped, and the job released its own
            cache.close()
    finally:
        sleeper.kill()


def test_several_judges_each_score_every_answer(tmp_path, clean_env):
    recs, questions = answers(3)
    with StubServer() as first, StubServer() as second:
        rows = judge_records(recs, questions, {}, settings(tmp_path, first, judges=[
            {"name": "second-judge", "model": "other", "base_url": second.base_url}]))
    assert len(first.bodies) == 3 and len(second.bodies) == 3
    assert [b["model"] for b in second.bodies] == ["other"] * 3
    assert sorted({r["judge_name"] for r in rows}) == ["judge-model", "second-judge"] and len(rows) == 6


def test_two_judges_with_one_name_are_refused(tmp_path, clean_env):
    recs, questions = answers(1)
    with StubServer() as server:
        with pytest.raises(UserError, match="judge.judges: the judge names"):
            judge_records(recs, questions, {}, settings(tmp_path, server, judges=[{"model": "judge-model"}]))
        assert server.bodies == []


def test_merged_scores_are_sorted_whatever_the_shard_order(tmp_path):
    from slmbench.scores import SCORE_COLUMNS

    def shard(name, rows):
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=SCORE_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        return path

    def row(model, level, qid, rep=0):
        return {"question_id": qid, "category": "math", "model_id": model, "level": level, "judge_status": "ok",
                "judge_name": "j", "repeat": rep}

    a = shard("a.csv", [row("m2", "L0", 10), row("m2", "L0", 9)])
    b = shard("b.csv", [row("m1", "L1", 2, 1), row("m1", "L1", 2, 0), row("m1", "L0", 100)])
    merge_scores([a, b], tmp_path / "one.csv")
    merge_scores([b, a], tmp_path / "two.csv")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    order = [(r["model_id"], r["level"], r["question_id"], r["repeat"])
             for r in csv.DictReader((tmp_path / "one.csv").open(encoding="utf-8"))]
    assert order == [("m1", "L0", "100", "0"), ("m1", "L1", "2", "0"), ("m1", "L1", "2", "1"), ("m2", "L0", "9", "0"),
                     ("m2", "L0", "10", "0")]


def test_judge_agreement_csv(tmp_path):
    from slmbench.judge.agreement import AGREEMENT_COLUMNS, write_agreement

    scores = tmp_path / "scores.csv"
    with scores.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["question_id", "model_id", "level", "total_score", "judge_status",
                                                "judge_name", "repeat"])
        writer.writeheader()
        for q, (x, y) in enumerate([(1, 1.5), (4, 4), (6, 6.5), (9, 9)]):
            for rep in (0, 1):
                writer.writerow({"question_id": q, "model_id": "m", "level": "L0", "total_score": x,
                                 "judge_status": "ok", "judge_name": "a", "repeat": rep})
            writer.writerow({"question_id": q, "model_id": "m", "level": "L0", "total_score": y, "judge_status": "ok",
                             "judge_name": "b", "repeat": 0})
    out = write_agreement(scores, tmp_path / "agreement.csv")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == AGREEMENT_COLUMNS
    found = {(r["measure"], r["judge"]): r for r in rows if r["score"] == "total_score"}
    assert float(found[("krippendorff_alpha_repeats", "a")]["value"]) == 1.0
    assert float(found[("spearman_rho", "a")]["value"]) == 1.0 and found[("spearman_rho", "a")]["n_answers"] == "4"


def test_a_bad_config_is_one_line_naming_the_file_and_key(tmp_path):
    # read like `snakemake --configfile`: exactly this file, then validated (slmbench.config)
    import yaml

    whole = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/demo.yaml").read_text(encoding="utf-8"))
    config = tmp_path / "other.yaml"
    config.write_text(yaml.safe_dump({**whole, "models": []}))
    runs, questions = tmp_path / "runs.jsonl", tmp_path / "question.jsonl"
    runs.write_text("")
    questions.write_text("")
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "judge", "--questions", str(questions), "--runs",
                           str(runs), "--out", str(tmp_path / "s.csv"), "--config", str(config)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "other.yaml: config error: models:" in proc.stderr
    assert not (tmp_path / "s.csv").exists()
