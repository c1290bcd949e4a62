"""Judge throughput against a fixed-delay OpenAI-compatible server on 127.0.0.1.

The server runs in a process of its own. For concurrency 1, 4 and 16: verdicts per second over N fresh
(uncached) answers, as a ratio to the ideal concurrency / delay, measured --runs times (fresh cache each
time); the figure is the worst run. The client is made and has sent one request, and the cache file exists,
before the clock starts (one-off set-up is not throughput). Goal: >= 0.9 at concurrency 4 and 16. Also prints
the cost per verdict seen by the caller at concurrency 1 (judge_s_per_verdict_c1 - delay: what a remote judge
adds beyond the server's own time).

    python benchmarks/judge_throughput.py [--delay 0.2] [--verdicts 20] [--runs 3] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sizes import parse_sizes

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


# The fixed-delay server in a process of its own, as a remote judge is: its request handling must not take
# the GIL from the judge's worker threads, which is what is measured.
SERVE = """
import sys
from openai_stub_server import StubServer
with StubServer(delay_s=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def stub_server(delay_s: float):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(delay_s)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per request, seconds")
    parser.add_argument("--verdicts", type=int, default=20, help="verdicts per concurrency slot")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--runs", type=int, default=3, help="runs per concurrency; the worst is reported")
    args = parse_sizes(parser, argv, smoke={"delay": 0.05, "verdicts": 2, "concurrency": [1, 4, 16], "runs": 1})

    from slmbench.judge.rubric import VERDICT_REPLY
    from slmbench.judge.runner import judge_records
    from slmbench.llm import make_client
    from slmbench.llm.cache import ContentCache

    results = {}
    with stub_server(args.delay) as base_url, tempfile.TemporaryDirectory() as tmp:
        for conc in args.concurrency:
            n = args.verdicts * conc
            ratios, seconds = [], []
            for run in range(args.runs):
                records = [{"question_id": i, "category": "bench", "model_id": "m", "level": "L0", "status": "ok",
                            "output": f"answer {conc}-{run}-{i}", "error": None} for i in range(n)]
                questions = {i: f"question {i}" for i in range(n)}
                settings = {"backend": "openai", "model": "bench", "base_url": base_url,
                            "api_key_env": "NO_KEY", "temperature": 0, "max_tokens": 32, "timeout_s": 30,
                            "max_retries": 6, "cache": str(Path(tmp) / f"c{conc}-{run}.sqlite"),
                            "concurrency": conc, "repeats": 1, "sleep_s": 0}
                judge = make_client(settings)  # client set-up is not part of the throughput
                judge.complete([{"role": "user", "content": "warm-up"}], schema=VERDICT_REPLY)
                ContentCache(settings["cache"]).close()  # a study's cache exists after its first judge job
                start = time.perf_counter()
                rows = judge_records(records, questions, {}, settings, judge=judge)
                elapsed = time.perf_counter() - start
                assert all(r["judge_status"] == "ok" for r in rows)
                ratios.append(n / elapsed / (conc / args.delay))
                seconds.append(elapsed)
                print(f"concurrency {conc:2d}, run {run + 1}: {n} verdicts in {elapsed:.2f} s = {n / elapsed:.1f}/s; "
                      f"ideal {conc / args.delay:.1f}/s; ratio {ratios[-1]:.3f}")
            worst = min(ratios)
            results[f"judge_vps_c{conc}"] = round(worst * conc / args.delay, 2)
            results[f"judge_throughput_ratio_c{conc}"] = round(worst, 3)
            if conc == 1:
                results["judge_s_per_verdict_c1"] = round(statistics.median(seconds) / n, 4)
    results["judge_throughput_ratio"] = results.get("judge_throughput_ratio_c16")
    results["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
