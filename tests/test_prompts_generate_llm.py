"""llm-mode level generation against a real scripted OpenAI-compatible server on 127.0.0.1: each level is
asked for its question with the prompt so far shown, every addition is checked (band, answer leak, visible
extra output, labelled padding), a rejected one is asked again with the reason, the levels are cumulative,
the study's cache and ledger serve reruns and hold the spending, and the budget stops before any request."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import openpyxl
import pytest

from level_writer_script import ENC, QUESTION, REASONS, clean_writer, first_draft_rejected, fitted, kind_of
from openai_stub_server import StubServer, chat_reply
from slmbench import levels as design
from slmbench.prompts.audit import audit_prompts
from slmbench.prompts.generate import generate_spreadsheet, generator_of
from slmbench.prompts.generate_llm import llm_levels

LEVELS = ["L0", "L1", "L2", "L3", "P"]
def settings(server, tmp_path, **more) -> dict:
    return {"backend": "openai", "model": "writer", "base_url": server.base_url, "api_key_env": "NONE",
            "model_path": None, "chat_format": None, "timeout_s": 10, "max_retries": 0,
            "cache": str(tmp_path / "study_cache.sqlite"), **more}


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "question.jsonl"
    path.write_text(json.dumps({"question_id": 5, "category": "math", "turns": [QUESTION],
                                "reference": ["40 miles per hour"]}) + "\n", encoding="utf-8")
    return path


def sheet_texts(path) -> dict:
    header, *rows = list(openpyxl.load_workbook(path).active.values)
    return {row[0]: dict(zip(header[2:], row[2:])) for row in rows}


def test_each_addition_is_written_on_the_level_before_and_a_rejected_one_is_asked_again_with_its_reason(
        tmp_path, questions, clean_env, capfd):
    prices = {"input": 2.0, "output": 8.0}
    with StubServer(first_draft_rejected) as server:
        sheet = generate_spreadsheet(questions, tmp_path / "g.xlsx", levels=LEVELS, mode="llm",
                                     llm=settings(server, tmp_path, price_per_mtok=prices))
        assert len(server.bodies) == 8  # 4 levels x (a rejected draft + the accepted retry)
        texts = sheet_texts(sheet)[5]
        for body in server.bodies:
            assert body["temperature"] == 0.0 and body["messages"][0]["role"] == "system"
            assert "Do not answer the question" in body["messages"][0]["content"]
            if len(body["messages"]) == 4:  # the retry: the rejected draft, then the reason
                assert REASONS[kind_of(body)] in body["messages"][3]["content"], body["messages"][3]["content"]
        # each request shows the prompt so far: the guidance is asked for with the accepted clarification
        guidance_ask = next(b for b in server.bodies if kind_of(b) == "guidance")["messages"][1]["content"]
        assert texts["L1"] in guidance_ask

        generate_spreadsheet(questions, tmp_path / "again.xlsx", levels=LEVELS, mode="llm",
                             llm=settings(server, tmp_path, price_per_mtok=prices))
        assert len(server.bodies) == 8  # the rerun: every text from the study's cache, nothing asked
    assert sheet_texts(tmp_path / "again.xlsx") == sheet_texts(sheet)
    assert "warning" not in capfd.readouterr().err  # every kept text passed its checks
    assert texts["L0"] == QUESTION
    for level in LEVELS[1:]:  # cumulative: each level is the one before it, a blank line, one addition
        assert texts[level].startswith(texts[design.base_of(level)] + "\n\n"), level
    assert "40" not in texts["P"] and "restate" not in texts["P"] and "irrelevant" not in texts["P"]
    # the audit that runs before inference agrees: in band, cumulative, no leak, nothing to flag
    rows = audit_prompts([sheet], tmp_path / "audit.csv", questions_file=questions, strict=True)
    assert {r["status"] for r in rows} == {"ok"} and {r["generator"] for r in rows} == {"llm"}
    assert generator_of(sheet) == "llm"
    with sqlite3.connect(tmp_path / "study_cache.sqlite") as db:  # the study's ledger holds what was spent
        spent = db.execute("SELECT judge, usd, prompt_tokens FROM spend").fetchall()
    assert {who for who, _, _ in spent} == {"prompts:writer"} and len(spent) == 4
    assert sum(usd for _, usd, _ in spent) == pytest.approx(8 * (100 * 2.0 + 20 * 8.0) / 1e6)


def test_an_addition_failing_every_attempt_is_kept_named_once_per_problem_and_flagged_by_the_audit(
        tmp_path, questions, clean_env, capfd):
    def always_bad(n, body):
        return 200, {}, chat_reply("Restate the question first. " + fitted("clarification", body)
                                   + " The answer is 40 miles per hour.")

    with StubServer(always_bad) as server:
        sheet = generate_spreadsheet(questions, tmp_path / "g.xlsx", levels=["L0", "L1"], mode="llm",
                                     llm=settings(server, tmp_path, max_attempts=2))
        assert len(server.bodies) == 2
        warnings = [line for line in capfd.readouterr().err.splitlines() if "warning" in line]
        assert len(warnings) == 3 and all(line.startswith("slmbench: warning: question 5 L1: ") for line in warnings)
        assert "states the answer" in warnings[0] and "'restate'" in warnings[1] and "after 2 request(s)" in warnings[0]
        assert "values the question does not contain (40)" in warnings[2]
        generate_spreadsheet(questions, tmp_path / "again.xlsx", levels=["L0", "L1"], mode="llm",
                             llm=settings(server, tmp_path, max_attempts=2))
        assert len(server.bodies) == 2  # kept in the cache: checked again, not asked again
    again = [line for line in capfd.readouterr().err.splitlines() if "warning" in line]
    assert len(again) == 3 and all("from the cache" in line for line in again)
    rows = audit_prompts([sheet], tmp_path / "audit.csv", questions_file=questions, levels=["L0", "L1"])
    l1 = next(r for r in rows if r["level"] == "L1")
    assert l1["status"] == "fail" and l1["leaked_values"].startswith("40") and l1["visible_output"] == "restate"
    assert l1["numbers_not_in_question"] == "40"


def test_the_controls_match_what_each_level_adds_and_a_level_left_out_is_still_written_as_a_base(
        tmp_path, questions, clean_env):
    from slmbench.questions import read_questions

    levels = [*LEVELS, "P1", "P2", "P3"]
    with StubServer(clean_writer) as server:
        texts = llm_levels(read_questions(questions), levels, settings(server, tmp_path))[5]
        assert len(server.bodies) == 7
        lengths = {lvl: len(ENC.encode(text)) for lvl, text in texts.items()}
        assert design.growth_problems(lengths) == [], lengths
        assert all(texts[c].startswith(QUESTION + "\n\n") for c in design.CONTROL_LEVELS)
        only = llm_levels(read_questions(questions), ["L0", "L3"], settings(server, tmp_path, cache=None))[5]
        assert len(server.bodies) == 10  # L1 and L2 are written too: L3 builds on them
    assert set(only) == {"L0", "L3"} and only["L3"] == texts["L3"]


def test_a_second_variant_is_asked_for_on_its_own_and_cached_apart(tmp_path, questions, clean_env):
    from slmbench.questions import read_questions

    with StubServer(clean_writer) as server:
        first = llm_levels(read_questions(questions), ["L0", "L1"], settings(server, tmp_path))
        second = llm_levels(read_questions(questions), ["L0", "L1"], settings(server, tmp_path), variant=1)
        assert len(server.bodies) == 2 and "independent wording number 2" in server.bodies[1]["messages"][1]["content"]
        llm_levels(read_questions(questions), ["L0", "L1"], settings(server, tmp_path), variant=1)
        assert len(server.bodies) == 2
    assert first[5]["L0"] == second[5]["L0"]


def test_the_study_budget_stops_the_writer_before_any_request_with_one_line(tmp_path, questions, clean_env):
    with StubServer(clean_writer) as server:
        writer = {k: v for k, v in settings(server, tmp_path).items() if k != "max_retries"}
        proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "generate", "--questions",
                               str(questions), "--out", str(tmp_path / "g.xlsx"), "--mode", "llm",
                               f"--llm-settings={json.dumps(writer)}", "--max-cost", "0.001", "--price", "100", "200"],
                              capture_output=True, text=True)
        assert server.bodies == []
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert "4 level texts are estimated" in error and "passes the limit $0.00" in error, proc.stderr
    assert not (tmp_path / "g.xlsx").exists()


def test_who_writes_the_levels_and_the_warnings_a_study_sees(repo_root):
    from slmbench.config import load_config
    from slmbench.prompts.writer_config import writer_budget_args, writer_run_args, writer_settings, writer_warnings
    from slmbench.report.settings import settings_from_config

    config = load_config([str(repo_root / "config/config.yaml")])
    assert writer_warnings(config) == []  # the study reads the user's spreadsheet: nobody writes
    assert settings_from_config(config)["prompt_generator"].startswith("spreadsheet: the user's levels")
    config["prompts"].update(source="generate", generate_mode="llm")
    assert writer_run_args(config) == f"--concurrency {config['judge']['concurrency']}"  # the judge's section writes
    [line] = writer_warnings(config)
    assert line.startswith("slmbench: warning: prompts.generator is not set: the judge's model gpt-4o-2024-08-06")
    assert writer_settings(config)["model"] == config["judge"]["model"]
    generator = {"backend": "openai", "model": "writer-x", "base_url": None, "api_key_env": "OPENAI_API_KEY",
                 "model_path": None, "chat_format": None, "timeout_s": 30, "price_per_mtok": {"input": 1, "output": 4},
                 "concurrency": 3}
    config["prompts"]["generator"] = generator
    assert writer_warnings(config) == []
    assert writer_settings(config) == {**{k: generator[k] for k in ("backend", "model", "base_url", "api_key_env",
                                                                    "model_path", "chat_format", "timeout_s")},
                                       "cache": config["judge"]["cache"]}
    config["judge"]["max_cost_usd"] = 5
    assert writer_budget_args(config) == "--max-cost=5 --price 1 4"
    assert writer_run_args(config) == "--concurrency 3"  # pacing, passed apart from the text-shaping settings
    note = settings_from_config(config)["prompt_generator"]
    assert note == "llm: writer-x wrote each level's addition for its question"
    config["judge"]["judges"] = [{"name": "second", "model": "writer-x"}]
    [line] = writer_warnings(config)
    assert "prompts.generator.model writer-x is also a judge" in line
    demo = load_config([str(repo_root / "config/demo.yaml")])
    assert settings_from_config(demo)["prompt_generator"].startswith("template: the offline fallback")


def test_a_two_variant_llm_sheet_asks_for_each_wording_and_carries_the_variant_column(tmp_path, questions, clean_env):
    out = tmp_path / "generated.xlsx"
    with StubServer(clean_writer) as server:
        generate_spreadsheet(questions, out, levels=LEVELS, mode="llm", llm=settings(server, tmp_path), variants=2)
        asks = [body["messages"][1]["content"] for body in server.bodies]
    assert len(asks) == 2 * 4  # L1, L2, L3, P for each wording
    assert sum("independent wording number 2" in ask for ask in asks) == 4
    header, *rows = list(openpyxl.load_workbook(out).active.values)
    assert header[:3] == ("question_id", "category", "variant")
    assert [(row[0], row[2]) for row in rows] == [(5, 0), (5, 1)]
    for row in rows:  # each wording cumulative on the same L0
        texts = dict(zip(header[3:], row[3:]))
        assert texts["L0"] == QUESTION and all(texts[b] in texts[a] for b, a in zip(LEVELS, LEVELS[1:]))


SECOND = "A shop sells 4 pears for 2 dollars. How much do 10 pears cost?"


def test_first_drafts_with_what_no_level_may_add_are_asked_again_naming_the_reason(tmp_path, clean_env):
    """A writer whose first drafts say "answer briefly", "give only the final answer", quote the question cut
    mid-phrase, state a number the question does not contain, or give two questions the same worked example:
    each is asked again with that reason, and the sheet then passes the strict audit."""
    from level_writer_script import DEFECTS, defective_first_drafts

    questions = tmp_path / "question.jsonl"
    questions.write_text("".join(json.dumps({"question_id": q, "category": "math", "turns": [text]}) + "\n"
                                 for q, text in ((5, QUESTION), (6, SECOND))), encoding="utf-8")
    planted = {QUESTION: ["length instruction", "fragment cut", "example reuse"],
               SECOND: ["suppresses reasoning", "invented number", "example reuse"]}
    with StubServer(defective_first_drafts(planted)) as server:
        sheet = generate_spreadsheet(questions, tmp_path / "g.xlsx", levels=LEVELS, mode="llm",
                                     llm=settings(server, tmp_path, concurrency=8))
        bodies = list(server.bodies)
    follow_ups = [b["messages"][-1]["content"] for b in bodies if len(b["messages"]) > 2]
    for name in ("length instruction", "suppresses reasoning", "fragment cut", "invented number"):
        reason = DEFECTS[name][2]
        assert sum(reason in text for text in follow_ups) == 1, (name, follow_ups)
    # one example for two questions: whichever was checked first keeps it, the other is asked again
    reused = [text for text in follow_ups if DEFECTS["example reuse"][2] in text]
    assert len(reused) == 1 and ("question 5" in reused[0] or "question 6" in reused[0]), reused
    assert len(bodies) == 2 * 4 + 5  # every addition once, and the five rejected drafts once more
    rows = audit_prompts([sheet], tmp_path / "audit.csv", questions_file=questions, strict=True)
    assert {r["status"] for r in rows} == {"ok"}


def test_questions_are_written_concurrently_and_the_ledger_holds_every_text_once(tmp_path, clean_env):
    """Twelve questions with concurrency 8 against a server that keeps each request open a while: requests
    overlap (never more than 8), the study's ledger records each of the 48 texts once with its cost, the budget's
    hold is released, and the sheet is the one a sequential run writes."""
    import threading
    import time

    from level_writer_script import clean_writer

    texts = [f"A tank holds {n} litres and loses {n + 3} litres a day. After how many days is it empty?"
             for n in range(20, 32)]
    questions = tmp_path / "question.jsonl"
    questions.write_text("".join(json.dumps({"question_id": q, "category": "math", "turns": [t]}) + "\n"
                                 for q, t in enumerate(texts, start=1)), encoding="utf-8")
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow_writer(n, body):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return clean_writer(n, body)

    prices = {"input": 2.0, "output": 8.0}
    with StubServer(slow_writer) as server:
        concurrent = generate_spreadsheet(questions, tmp_path / "c.xlsx", levels=LEVELS, mode="llm",
                                          llm=settings(server, tmp_path, price_per_mtok=prices, max_cost_usd=1.0,
                                                       concurrency=8))
        assert len(server.bodies) == 48 and 1 < peak[0] <= 8, peak
        sequential = generate_spreadsheet(questions, tmp_path / "s.xlsx", levels=LEVELS, mode="llm",
                                          llm=settings(server, tmp_path, cache=str(tmp_path / "other.sqlite"),
                                                       concurrency=1))
    assert sheet_texts(concurrent) == sheet_texts(sequential)
    with sqlite3.connect(tmp_path / "study_cache.sqlite") as db:
        spent = db.execute("SELECT key, usd FROM spend").fetchall()
        held = db.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
        stored = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert len(spent) == len({key for key, _ in spent}) == stored == 48
    assert sum(usd for _, usd in spent) == pytest.approx(48 * (100 * 2.0 + 20 * 8.0) / 1e6)
    assert held == 0  # the hold on the budget ends with the job


def test_a_failing_question_stops_the_others_and_keeps_what_was_paid_for(tmp_path, clean_env):
    from level_writer_script import clean_writer
    from slmbench.errors import UserError

    questions = tmp_path / "question.jsonl"
    questions.write_text("".join(json.dumps({"question_id": q, "category": "math",
                                             "turns": [f"What is {q} times {q + 1}?"]}) + "\n"
                                 for q in range(1, 31)), encoding="utf-8")

    def refuses_question_3(n, body):
        if "What is 3 times 4?" in body["messages"][1]["content"]:
            return 401, {}, {"error": {"message": "bad key"}}
        return clean_writer(n, body)

    with StubServer(refuses_question_3) as server:
        with pytest.raises(UserError, match="refused the key"):
            generate_spreadsheet(questions, tmp_path / "g.xlsx", levels=LEVELS, mode="llm",
                                 llm=settings(server, tmp_path, concurrency=4))
        sent = len(server.bodies)
    assert sent < 30 * 4  # the queued questions were never started
    assert not (tmp_path / "g.xlsx").exists()
    with sqlite3.connect(tmp_path / "study_cache.sqlite") as db:
        stored = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert 0 < stored < sent  # what was written before the fault is kept (a rerun does not pay for it again)
