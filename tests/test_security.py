"""Secrets never reach outputs or logs; judge text that looks like a formula stays text in every workbook."""

from __future__ import annotations

import json

import openpyxl
import pytest

from openai_stub_server import StubServer, chat_reply, verdict_for
from pipeline_helpers import snakemake

pytestmark = pytest.mark.slow

SENTINEL = "sk-slmbench-sentinel-7f3a9c1e5b"
FORMULA = '=HYPERLINK("http://127.0.0.1/x","click")'


def test_api_key_never_written_and_formulas_stay_text(demo_workdir):
    ones = {"factuality": 1.0, "helpfulness": 1.0, "structure": 1.0, "conciseness": 1.0, "explanation": FORMULA}
    with StubServer(lambda n, body: (200, {}, chat_reply(verdict_for(body, **ones)))) as server:
        # a fresh run from the shards on (the demo study's prompts and model checks copied), without its fake
        # power sensor: every job runs with the key in its environment
        work = demo_workdir(categories=["math"], **{
            "inference.max_tokens": 8, "judge.backend": "openai", "judge.base_url": server.base_url,
            "judge.api_key_env": "SLMBENCH_SENTINEL_KEY", "judge.model": "stub-judge"}).work
        snakemake(work, "--cores", "2", env={"SLMBENCH_SENTINEL_KEY": SENTINEL})
        runs = [json.loads(line) for line in (work / "results/demo/runs_llamacpp.jsonl").open()]
        # per distinct answer one verdict (identical answers share a cached one), plus at most its one repair retry
        distinct = len({r["output"] for r in runs})
        assert distinct <= len(server.bodies) <= 2 * distinct
        assert set(server.auth) == {f"Bearer {SENTINEL}"}  # the key was really in play
    scanned = 0
    for path in work.rglob("*"):
        if path.is_file():
            scanned += 1
            assert SENTINEL.encode() not in path.read_bytes(), f"the API key leaked into {path}"
    assert scanned > 50  # results, logs and Snakemake's own metadata were all read
    res = work / "results/demo"
    found = 0
    for book_path in res.glob("*.xlsx"):
        book = openpyxl.load_workbook(book_path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{book_path.name}!{sheet.title}!{cell.coordinate} is a formula"
                    if cell.value == FORMULA:
                        found += 1
    assert found >= 1  # the judge's reason is in the detailed workbook, as text
    exported = (res / "exported_responses/all_responses.csv").read_text(encoding="utf-8-sig")
    assert "=HYPERLINK" not in exported.replace("'=HYPERLINK", "")  # Excel would run an unescaped one
