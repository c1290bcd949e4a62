"""Judge throughput against a fixed-delay OpenAI-compatible server on 127.0.0.1.

For concurrency 1, 4 and 16: verdicts per second over N fresh (uncached) answers, as a ratio to the
ideal concurrency / delay. Goal: >= 0.9 at concurrency 4 and 16.

    python benchmarks/judge_throughput.py [--delay 0.2] [--verdicts 64]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per request, seconds")
    parser.add_argument("--verdicts", type=int, default=20, help="verdicts per concurrency slot")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args(argv)

    from openai_stub_server import StubServer
    from slmbench.llm import make_client
    from slmbench.judge.runner import judge_records

    results = {}
    with StubServer(delay_s=args.delay) as server, tempfile.TemporaryDirectory() as tmp:
        for conc in args.concurrency:
            n = args.verdicts * conc
            records = [{"question_id": i, "category": "bench", "model_id": "m", "level": "L0", "status": "ok",
                        "output": f"answer {conc}-{i}", "error": None} for i in range(n)]
            questions = {i: f"question {i}" for i in range(n)}
            settings = {"backend": "openai", "model": "bench", "base_url": server.base_url, "api_key_env": "NO_KEY",
                        "temperature": 0, "max_tokens": 32, "timeout_s": 30, "max_retries": 6, "cache": str(Path(tmp) / f"c{conc}.sqlite"),
                        "concurrency": conc, "repeats": 1, "sleep_s": 0}
            judge = make_client(settings)  # client set-up is not part of the throughput
            start = time.perf_counter()
            rows = judge_records(records, questions, {}, settings, judge=judge)
            elapsed = time.perf_counter() - start
            assert all(r["judge_status"] == "ok" for r in rows)
            rate = n / elapsed
            ideal = conc / args.delay
            results[f"judge_vps_c{conc}"] = round(rate, 2)
            results[f"judge_throughput_ratio_c{conc}"] = round(rate / ideal, 3)
            print(f"concurrency {conc:2d}: {n} verdicts in {elapsed:.2f} s = {rate:.1f}/s; ideal {ideal:.1f}/s; "
                  f"ratio {rate / ideal:.3f}")
    results["judge_throughput_ratio"] = results.get("judge_throughput_ratio_c16")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
