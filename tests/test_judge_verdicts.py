"""Verdicts that hold up (issue 16): the corrected MT-Bench references, reasoning before scores, the
correctness column, and nothing paid lost or wrongly reused, against real servers on 127.0.0.1."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from openai_stub_server import VALID, StubServer, chat_reply, verdict_for
from pipeline_helpers import study_config_with
from slmbench.errors import UserError
from slmbench.judge.runner import judge_records, judge_shard, reference_answers
from slmbench.scores import read_score_rows

SRC = Path(__file__).resolve().parents[1] / "src"
ENV = {**os.environ, "PYTHONPATH": str(SRC)}


def settings(tmp_path, base_url, **extra) -> dict:
    return {"backend": "openai", "model": "judge-model", "base_url": base_url, "api_key_env": "SLMBENCH_TEST_KEY",
            "temperature": 0, "max_tokens": 64, "timeout_s": 10, "cache": str(tmp_path / "cache.sqlite"),
            "concurrency": 2, "repeats": 1, "sleep_s": 0, "max_retries": 0, **extra}


def answers(n: int, first: int = 0) -> tuple[list[dict], dict]:
    recs = [{"question_id": i, "category": "math", "model_id": "m", "level": "L1", "status": "ok",
             "output": f"answer {i}", "error": None} for i in range(first, first + n)]
    return recs, {i: f"question {i}" for i in range(first, first + n)}


# --- 1. references ---------------------------------------------------------------------------------------

def test_the_corrected_references_of_question_jsonl_come_first(mt_bench_dir):
    questions = [json.loads(line) for line in (mt_bench_dir / "question.jsonl").open(encoding="utf-8")]
    fields = {q["question_id"]: q["reference"] for q in questions if q.get("reference")}
    own = {qid: turns[0] for qid, turns in fields.items() if turns[0].strip()}
    refs = reference_answers(mt_bench_dir / "reference_answer_gpt-4.jsonl", mt_bench_dir / "question.jsonl")
    by_source = {source: sorted(q for q, (_, s) in refs.items() if s == source) for source in ("question",
                                                                                                "reference_file")}
    # 39 questions carry the field; Q133's first turn is empty (only its second turn has a reference)
    assert len(fields) == 39 and fields[133][0] == "" and 133 not in refs
    assert by_source["question"] == sorted(own) and len(own) == 38
    for qid in (104, 105, 111, 114, 125):
        assert refs[qid] == (own[qid], "question")
    assert "David has no brother" in refs[104][0] and "Alice" in refs[105][0] and "35/36" in refs[114][0]
    assert by_source["reference_file"] == [123]  # the one GPT-4 reference whose question carries none


def test_the_request_for_q104_carries_the_corrected_reference(tmp_path, clean_env, mt_bench_dir):
    qfile, rfile = mt_bench_dir / "question.jsonl", mt_bench_dir / "reference_answer_gpt-4.jsonl"
    questions = {q["question_id"]: q["turns"][0] for q in map(json.loads, qfile.open(encoding="utf-8"))}
    picked = [104, 123, 81]  # a corrected reference, one only in the GPT-4 file, none (writing)
    recs = [{"question_id": q, "category": "x", "model_id": "m", "level": "L0", "status": "ok", "output": "It is 1.",
             "error": None} for q in picked]
    with StubServer() as server:
        rows = judge_records(recs, questions, reference_answers(rfile, qfile), settings(tmp_path, server.base_url))
    sent = {b["messages"][1]["content"].split("\n")[1]: b for b in server.bodies}
    q104 = sent[questions[104].split("\n")[0]]["messages"][1]["content"]
    assert "<reference>\nDavid has no brother" in q104 and "David has only one brother" not in q104
    found = {r["question_id"]: r for r in rows}
    corrected = next(q["reference"][0] for q in map(json.loads, qfile.open(encoding="utf-8"))
                     if q["question_id"] == 104)
    assert found[104]["reference_source"] == "question"
    assert found[104]["reference_sha256"] == hashlib.sha256(corrected.encode()).hexdigest()
    assert found[123]["reference_source"] == "reference_file"
    assert found[81]["reference_source"] == "none" and found[81]["reference_sha256"] is None
    assert found[104]["reference_match"] is True and found[81]["reference_match"] is None


def test_an_override_file_replaces_every_other_reference(tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"question_id": 1, "category": "math", "turns": ["q"], "reference": ["own"]}) + "\n")
    override = tmp_path / "mine.jsonl"
    override.write_text(json.dumps({"question_id": 1, "choices": [{"turns": ["mine"]}]}) + "\n")
    assert reference_answers(None, qfile) == {1: ("own", "question")}
    assert reference_answers(None, qfile, override) == {1: ("mine", "override")}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question_id": 1}\n')
    with pytest.raises(UserError, match=r"bad.jsonl line 1: not a reference answer"):
        reference_answers(bad, qfile)


# --- 2. reasoning first, 3. correctness ------------------------------------------------------------------

def test_the_schema_sent_lists_the_explanation_before_the_scores(tmp_path, clean_env):
    recs, questions = answers(2)
    with StubServer() as server:
        judge_records(recs, questions, {0: "the answer is 0"}, settings(tmp_path, server.base_url, concurrency=1))
    by_question = {b["messages"][1]["content"].split("\n")[1]: b["response_format"]["json_schema"]["schema"]
                   for b in server.bodies}
    with_ref, without = by_question["question 0"], by_question["question 1"]
    scores = ["factuality", "helpfulness", "structure", "conciseness"]
    assert list(with_ref["properties"]) == ["explanation", "reference_match", *scores]
    assert list(without["properties"]) == ["explanation", *scores] and with_ref["required"][0] == "explanation"
    assert '"explanation"' in server.bodies[0]["messages"][0]["content"]  # the instruction says so too


def test_reference_match_is_a_column_true_false_or_empty(tmp_path, clean_env):
    recs, questions = answers(3)
    runs = tmp_path / "runs.jsonl"
    runs.write_text("".join(json.dumps(r) + "\n" for r in recs))
    prompts = tmp_path / "p.csv"
    prompts.write_text("question_id,category,level,prompt\n" + "".join(f"{i},math,L0,question {i}\n" for i in range(3)))
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("".join(json.dumps({"question_id": i, "category": "math", "turns": [f"question {i}"],
                                         **({"reference": [f"ref {i}"]} if i < 2 else {})}) + "\n" for i in range(3)))

    def script(n, body):
        wrong = "question 1" in body["messages"][1]["content"]
        return 200, {}, chat_reply(verdict_for(body, **({"reference_match": False} if wrong else {})))

    with StubServer(script) as server:
        out = judge_shard(runs, prompts, None, tmp_path / "s.csv", settings(tmp_path, server.base_url),
                          questions_path=qfile)
    rows = {r.question_id: r for r in read_score_rows(out)}
    assert [rows[i].reference_match for i in range(3)] == [True, False, None]
    assert [rows[i].reference_source for i in range(3)] == ["question", "question", "none"]
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[-5:] == ["reference_match", "reference_source", "reference_sha256", "variant", "power_mode_id"]


def test_a_verdict_without_the_correctness_answer_is_repaired(tmp_path, clean_env):
    def script(n, body):
        repaired = len(body["messages"]) > 2
        return 200, {}, chat_reply(verdict_for(body) if repaired else json.dumps(VALID))

    recs, questions = answers(1)
    with StubServer(script) as server:
        rows = judge_records(recs, questions, {0: "ref"}, settings(tmp_path, server.base_url))
    assert len(server.bodies) == 2 and rows[0]["judge_status"] == "ok" and rows[0]["reference_match"] is True


def test_older_scores_files_without_the_new_columns_still_read(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("question_id,category,model_id,level,factuality,helpfulness,structure,conciseness,total_score,"
                   "judge_status\n1,math,m,L0,1,1,1,1,4,ok\n")
    (row,) = read_score_rows(old)
    assert row.reference_match is None and row.total_score == 4.0
    bad = tmp_path / "bad.csv"
    bad.write_text(old.read_text().replace("judge_status\n", "judge_status,reference_match\n").replace(",ok\n",
                                                                                                     ",ok,maybe\n"))
    with pytest.raises(UserError, match=r"bad.csv row 2, column reference_match: 'maybe'"):
        read_score_rows(bad)


# --- 6. nothing paid lost, nothing wrong reused -----------------------------------------------------------

def judge_cli(tmp_path, server_url, recs, questions, *extra, env=None):
    runs = tmp_path / "runs.jsonl"
    runs.write_text("".join(json.dumps(r) + "\n" for r in recs))
    qfile = tmp_path / "question.jsonl"
    qfile.write_text("".join(json.dumps({"question_id": q, "category": "math", "turns": [t]}) + "\n"
                             for q, t in questions.items()))
    config = tmp_path / "judge.yaml"
    config.write_text(json.dumps(study_config_with(judge=settings(tmp_path, server_url))))
    return subprocess.run([sys.executable, "-m", "slmbench.cli", "judge", "--questions", str(qfile), "--runs",
                           str(runs), "--out", str(tmp_path / "s.csv"), "--config", str(config), *extra],
                          capture_output=True, text=True, env=env or ENV)


def test_empty_choices_are_asked_again_on_the_rerun_never_cached(tmp_path, clean_env):
    seen: set = set()

    def script(n, body):  # the first request of each conversation gets no choices, every later one a verdict
        conversation = body["messages"][1]["content"]
        if conversation not in seen:
            seen.add(conversation)
            return 200, {}, {**chat_reply(""), "choices": []}
        return 200, {}, chat_reply(verdict_for(body))

    recs, questions = answers(3)
    with StubServer(script) as server:
        first = judge_cli(tmp_path, server.base_url, recs, questions)
        assert first.returncode != 0 and "Traceback" not in first.stderr
        last = first.stderr.strip().splitlines()[-1]
        assert "3 of 3 verdicts could not be obtained" in last and "HTTP 200 with no choices" in last
        assert not (tmp_path / "s.csv").exists()
        stored = sqlite3.connect(tmp_path / "cache.sqlite").execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        assert stored == 0  # nothing cached as a verdict
        again = judge_cli(tmp_path, server.base_url, recs, questions)
        assert again.returncode == 0, again.stderr
        assert len(server.bodies) == 6  # the rerun asked exactly those three again
    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert [r["judge_status"] for r in rows] == ["ok"] * 3


@pytest.mark.parametrize("fault", ["no_choices", "null_content", "error_body"])
def test_a_reply_shaped_fault_is_retried_within_the_run(tmp_path, clean_env, fault):
    def script(n, body):
        if n == 0:
            if fault == "no_choices":
                return 200, {}, {**chat_reply(""), "choices": []}
            if fault == "null_content":
                reply = chat_reply("")
                reply["choices"][0]["message"]["content"] = None
                return 200, {}, reply
            return 200, {}, {"error": {"message": "quota exceeded", "type": "insufficient_quota"}}
        return 200, {}, chat_reply(verdict_for(body))

    recs, questions = answers(1)
    with StubServer(script) as server:
        rows = judge_records(recs, questions, {}, settings(tmp_path, server.base_url, max_retries=1))
    assert rows[0]["judge_status"] == "ok" and len(server.bodies) == 2


def test_a_reply_cut_at_max_tokens_is_not_kept_and_a_larger_budget_asks_again(tmp_path, clean_env):
    def script(n, body):
        if body["max_tokens"] < 100:
            reply = chat_reply('{"explanation": "the answer is')
            reply["choices"][0]["finish_reason"] = "length"
            return 200, {}, reply
        return 200, {}, chat_reply(verdict_for(body))

    recs, questions = answers(2)
    prices = {"input": 1000.0, "output": 1000.0}
    with StubServer(script) as server:
        cut = judge_records(recs, questions, {}, settings(tmp_path, server.base_url, price_per_mtok=prices))
        assert len(server.bodies) == 4  # each asked again once (the repair retry), cut again
        assert [r["judge_status"] for r in cut] == ["parse_error"] * 2 and not any(r.get("total_score") for r in cut)
        assert "cut at judge.max_tokens=64" in cut[0]["reason"]
        db = sqlite3.connect(tmp_path / "cache.sqlite")
        assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == 0  # never cached as a verdict
        assert db.execute("SELECT SUM(usd) FROM spend").fetchone()[0] == pytest.approx(2 * 0.24)  # but paid: counted
        again = judge_records(recs, questions, {}, settings(tmp_path, server.base_url, price_per_mtok=prices))
        assert len(server.bodies) == 8 and [r["judge_status"] for r in again] == ["parse_error"] * 2
        rows = judge_records(recs, questions, {}, settings(tmp_path, server.base_url, max_tokens=200))
    assert [r["judge_status"] for r in rows] == ["ok", "ok"] and len(server.bodies) == 10


def test_openai_base_url_is_the_endpoint_when_base_url_is_unset(tmp_path, clean_env):
    recs, questions = answers(1)
    with StubServer() as server:
        clean_env.setenv("OPENAI_BASE_URL", server.base_url)
        rows = judge_records(recs, questions, {}, settings(tmp_path, None))
        assert len(server.bodies) == 1
        assert rows[0]["judge_endpoint"].startswith("127.0.0.1:")
        clean_env.delenv("OPENAI_BASE_URL")
    from slmbench.judge.verdicts import judge_identity

    # the cache keeps the local server's verdicts apart from api.openai.com's
    assert "127.0.0.1" not in judge_identity(settings(tmp_path, None))
    assert judge_identity(settings(tmp_path, None, max_tokens=64)) != judge_identity(settings(tmp_path, None,
                                                                                                max_tokens=65))


class TrickleServer:
    """Answers every request with headers at once, then its body one byte a second."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.requests = 0
        self.closing = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def serve(self):
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.trickle, args=(conn,), daemon=True).start()

    def trickle(self, conn):
        self.requests += 1
        body = json.dumps(chat_reply(json.dumps(VALID))).encode()
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n")
            for byte in body:
                if self.closing.is_set():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(1)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.closing.set()
        self.sock.close()


def test_timeout_s_is_a_deadline_per_request_against_a_trickling_server(tmp_path, clean_env):
    server = TrickleServer()
    recs, questions = answers(1)
    start = time.monotonic()
    try:
        with pytest.raises(UserError) as err:
            judge_records(recs, questions, {}, settings(tmp_path, server.base_url, timeout_s=3, max_retries=1))
    finally:
        server.close()
    elapsed = time.monotonic() - start
    assert elapsed < 30 and server.requests == 2, (elapsed, server.requests)
    assert "no complete reply within judge.timeout_s=3 s" in str(err.value) and "\n" not in str(err.value)


def test_a_long_retry_after_is_not_waited_out_and_a_wait_over_10_s_is_announced(tmp_path, clean_env, capfd):
    from slmbench.llm.retry import Backoff, Stopped, Transient, with_retries

    def give_up(fault, tries):
        return UserError(f"gave up after {tries} ({fault.what})")

    def hours():
        raise Transient("HTTP 429", retry_after=7200)

    with pytest.raises(UserError, match=r"asks to wait 2.0 h \(Retry-After\), not waited out"):
        with_retries(hours, Backoff(retries=5), threading.Event(), give_up)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()

    def minute():
        raise Transient("HTTP 429", retry_after=60)

    with pytest.raises(Stopped):
        with_retries(minute, Backoff(retries=5), stop, give_up, label="judge endpoint x")
    err = capfd.readouterr().err.strip().splitlines()
    assert err == ["slmbench: judge endpoint x: waiting 60 s before retry 1 of 5 (HTTP 429, as Retry-After asks)"]


def test_an_html_reply_is_one_line_naming_the_endpoint(tmp_path, clean_env):
    page = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"
    recs, questions = answers(2)
    with StubServer(lambda n, body: (200, {}, page)) as server:
        proc = judge_cli(tmp_path, server.base_url, recs, questions)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "error" in x]
    assert "answered with an HTML page" in line and "127.0.0.1" in line and "judge.base_url" in line


def test_a_runs_file_without_status_is_one_line_naming_it(tmp_path, clean_env):
    recs, questions = answers(2)
    for r in recs:
        del r["status"]
    proc = judge_cli(tmp_path, "http://127.0.0.1:9/v1", recs, questions)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "runs.jsonl" in proc.stderr and "status" in proc.stderr
    assert "runs.jsonl:1: field status is missing" in proc.stderr  # records.read_run_records: file, line, field


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_disk_that_fills_while_judging_names_the_disk_and_keeps_the_verdicts(tmp_path, clean_env, small_disk):
    long_reason = "x" * 3000
    recs, questions = answers(200)
    with StubServer(lambda n, body: (200, {}, chat_reply(verdict_for(body, explanation=long_reason)))) as server:
        judging = settings(tmp_path, server.base_url, cache=str(small_disk / "cache.sqlite"), concurrency=1)
        with pytest.raises(UserError) as err:
            judge_records(recs, questions, {}, judging)
        message = str(err.value)
        assert "cannot write to the disk" in message and "full" in message and "move it aside" not in message
        stored = sqlite3.connect(small_disk / "cache.sqlite").execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        assert 0 < stored < 200
        asked = len(server.bodies)
        # with the disk still full, the healthy cache is not called broken either
        with pytest.raises(UserError, match="cannot write to the disk|verdicts could not"):
            judge_records(recs, questions, {}, judging)
        assert sqlite3.connect(small_disk / "cache.sqlite").execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] \
            == stored
        assert len(server.bodies) - asked <= 2  # what was stored is not asked for again


# --- 8. one ledger ----------------------------------------------------------------------------------------

def test_the_prompt_writer_spends_from_the_judges_ledger(tmp_path, clean_env):
    from slmbench.prompts.generate_llm import llm_levels
    from slmbench.status import read_ledger

    prices = {"input": 1000.0, "output": 1000.0}  # the stub's 100 + 20 tokens cost $0.12 a call
    questions = {5: {"question_id": 5, "category": "math", "turns": ["What is 3 times 4?"]}}
    with StubServer(lambda n, body: (200, {}, chat_reply("Short."))) as server:
        writer = {"backend": "openai", "model": "w", "base_url": server.base_url, "api_key_env": "NONE",
                  "timeout_s": 10, "max_retries": 0, "cache": str(tmp_path / "cache.sqlite"), "max_attempts": 1,
                  "price_per_mtok": prices, "max_cost_usd": None}
        llm_levels(questions, ["L0", "L1", "L2"], writer)
        assert len(server.bodies) == 2
        spent, paid, stored = read_ledger(writer["cache"])
        assert spent == pytest.approx(0.24) and paid == 2 and stored == 2  # status shows it in the same totals
        spenders = sqlite3.connect(writer["cache"]).execute("SELECT DISTINCT judge FROM spend").fetchall()
        assert spenders == [("prompts:w",)]
        # the judge's verdicts draw on the same budget: the writer's $0.24 counts against the judge's limit
        recs, qs = answers(1)
        judging = settings(tmp_path, server.base_url, price_per_mtok=prices, max_cost_usd=0.25)
        with pytest.raises(UserError, match=r"\$0.24 spent so far"):
            judge_records(recs, qs, {}, judging)
        # and a writer whose estimate passes the study's limit sends nothing
        with pytest.raises(UserError, match=r"passes the limit \$0.30"):
            llm_levels(questions, ["L0", "L3"], {**writer, "max_cost_usd": 0.3})
        assert len(server.bodies) == 2
