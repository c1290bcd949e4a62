"""The llm prompt writer's concurrency: N questions x 4 additions (L1, L2, L3, P) against a scripted
OpenAI-compatible writer on 127.0.0.1 that answers every request after a fixed delay (a remote model's latency),
written one question at a time and then `--concurrency` at a time, side by side in one run, each with a fresh
study cache (so every text is asked for). The server runs in a process of its own, as a remote writer does, so its
request handling does not take the GIL from the writer's threads. The figure is the wall time of the concurrent
run over the sequential one; goal: <= 0.25 at concurrency 8 (ideal 1/8, plus each addition's checks, token counts
and cache commit, which the threads share one GIL and one sqlite file for). Also printed: both wall times, the
client's CPU seconds, the requests, the delay and the load average.

    python benchmarks/prompt_writer_concurrency.py [--questions 80] [--delay 0.1] [--concurrency 8] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

# the scripted writer of the tests (an addition of the asked kind, in band, for that prompt), after a fixed delay
SERVE = """
import sys
from level_writer_script import clean_writer
from openai_stub_server import StubServer
with StubServer(clean_writer, delay_s=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def writer_server(delay_s: float):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(delay_s)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def questions(n: int) -> dict:
    """n distinct questions (each gets its own levels, so nothing is shared through the cache)."""
    return {q: {"question_id": q, "category": "math",
                "turns": [f"A tank holds {100 + q} litres and loses {q + 3} litres a day. After how many days is it "
                          f"empty?"]} for q in range(1, n + 1)}


def timed_run(items: dict, base_url: str, concurrency: int, cache: Path) -> tuple:
    """(wall seconds, CPU seconds, requests) of writing every question's L1..P once."""
    from slmbench.llm.cache import ContentCache
    from slmbench.prompts.generate_llm import llm_levels

    settings = {"backend": "openai", "model": "bench-writer", "base_url": base_url, "api_key_env": "NO_KEY",
                "model_path": None, "chat_format": None, "timeout_s": 30, "max_retries": 2, "cache": str(cache),
                "concurrency": concurrency}
    ContentCache(cache).close()  # a study's cache exists before its first prompts are written
    wall, cpu = time.perf_counter(), time.process_time()
    written = llm_levels(items, ["L0", "L1", "L2", "L3", "P"], settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(written) == len(items) and all(len(texts) == 5 for texts in written.values())
    cache = Path(cache)
    with contextlib.closing(sqlite3.connect(cache)) as db:  # every text stored once, with its line in the ledger
        texts, spent = (db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("verdicts", "spend"))
    assert texts == spent, (texts, spent)
    return wall, cpu, texts


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=80)
    parser.add_argument("--delay", type=float, default=0.1, help="the writer's latency per request, seconds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="16 questions, 0.05 s per request: seconds, not a minute")
    args = parser.parse_args(argv)
    if args.smoke:
        args.questions, args.delay = 16, 0.05
    os.environ.pop("NO_KEY", None)
    items = questions(args.questions)
    results = {}
    with writer_server(args.delay) as base_url, tempfile.TemporaryDirectory() as tmp:
        # one-off set-up is not what is measured: the client's imports and first connection, the encoder
        timed_run({0: {"question_id": 0, "category": "math", "turns": ["Warm-up: what is 2 + 2?"]}}, base_url, 1,
                  Path(tmp) / "warm-up.sqlite")
        runs = {}
        for concurrency in (1, args.concurrency):
            wall, cpu, texts = timed_run(items, base_url, concurrency, Path(tmp) / f"cache-c{concurrency}.sqlite")
            assert texts == 4 * args.questions, texts  # every addition accepted at its first request
            runs[concurrency] = wall
            print(f"concurrency {concurrency}: {args.questions} questions x 4 additions in {wall:.2f} s "
                  f"(client CPU {cpu:.2f} s; the server's delays alone: {4 * args.questions * args.delay:.1f} s)")
            results[f"writer_s_c{concurrency}"] = round(wall, 2)
            results[f"writer_cpu_s_c{concurrency}"] = round(cpu, 2)
    results["writer_concurrency_ratio"] = round(runs[args.concurrency] / runs[1], 3)
    results.update(writer_questions=args.questions, writer_requests=4 * args.questions, writer_delay_s=args.delay,
                   writer_concurrency=args.concurrency, load_average_1min=round(os.getloadavg()[0], 2))
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
