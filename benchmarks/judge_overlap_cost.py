"""What a concurrent remote judge job adds to a measured window (the cost of `judge.overlap: true`).

The board's power rails measure the whole module, so any CPU another job uses during an inference window
lands in that window's energy. This measures, side by side in one run, the CPU share of the machine used by
processes other than the "inference" process (slmbench.power.board_state, exactly as every record's
`background_cpu_pct`) over equal windows:
  - quiet: nothing else of the workflow runs (the default: board-pinned jobs take every core);
  - overlap: a judge job (`slmbench judge`, a separate process as in the workflow) talks to a remote
    OpenAI-compatible endpoint (a fixed-delay server on 127.0.0.1, in a third process) at concurrency 4.
The server's own CPU is not the judge's cost on a real study (it is remote), so it is measured and subtracted.

    python benchmarks/judge_overlap_cost.py [--seconds 5] [--verdicts 200] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sizes import parse_sizes

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

SERVER = """
import sys, time
sys.path[:0] = sys.argv[2:4]
from openai_stub_server import StubServer
with StubServer(delay_s=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    time.sleep(3600)
"""


def window_share(seconds: float, pid: int | None = None) -> float:
    from slmbench.power.board_state import background_cpu_pct, cpu_snapshot

    start = cpu_snapshot()
    server_start = _proc_jiffies(pid) if pid else 0
    time.sleep(seconds)
    end = cpu_snapshot()
    share = background_cpu_pct(start, end) or 0.0
    if pid:  # the local stand-in for the remote endpoint is not part of the judge's cost on a board
        elapsed = end.total_jiffies - start.total_jiffies
        share -= 100.0 * (_proc_jiffies(pid) - server_start) / elapsed if elapsed else 0.0
    return max(0.0, share)


def _proc_jiffies(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured window")
    parser.add_argument("--verdicts", type=int, default=200, help="answers the overlapping judge job scores")
    parser.add_argument("--delay", type=float, default=0.2, help="the endpoint's delay per request, seconds")
    args = parse_sizes(parser, argv, smoke={"seconds": 0.5, "verdicts": 20})
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.delay), str(ROOT / "src"), str(ROOT / "tests")],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        base_url = server.stdout.readline().strip()
        quiet = window_share(args.seconds, server.pid)
        with tempfile.TemporaryDirectory() as tmp:
            runs, prompts, config = _study_files(Path(tmp), args.verdicts, base_url)
            judge = subprocess.Popen(
                [sys.executable, "-m", "slmbench.cli", "judge", "--runs", str(runs), "--questions", str(prompts),
                 "--out", str(Path(tmp) / "scores.csv"), "--config", str(config)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
            time.sleep(1.0)  # the judge is past its imports and sending
            overlap = window_share(args.seconds, server.pid) if judge.poll() is None else float("nan")
            judge.kill()
            judge.wait()
    finally:
        server.kill()
        server.wait()
    added = overlap - quiet
    print(f"other processes' CPU during a {args.seconds:g} s window, % of the machine ({os.cpu_count()} CPUs): "
          f"quiet {quiet:.2f} %, with a remote judge job at concurrency 4 {overlap:.2f} %; added {added:.2f} points")
    result = {"overlap_background_cpu_pct_quiet": round(quiet, 2),
              "overlap_background_cpu_pct_judge": round(overlap, 2),
              "overlap_added_cpu_pct": round(added, 2)}
    print(json.dumps(result))
    return result


def _study_files(tmp: Path, n: int, base_url: str):
    import yaml

    from slmbench.records import RunRecord, write_jsonl

    runs = tmp / "runs.jsonl"
    write_jsonl(runs, [RunRecord(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L0",
                                 question_id=i, category="bench", prompt=f"question {i}", output=f"answer {i}",
                                 ).__dict__ for i in range(1, n + 1)])
    prompts = tmp / "question.jsonl"
    prompts.write_text("".join(json.dumps({"question_id": i, "category": "bench", "turns": [f"question {i}"]}) + "\n"
                               for i in range(1, n + 1)), encoding="utf-8")
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    demo["judge"].update(backend="openai", model="bench", base_url=base_url, api_key_env="NO_KEY", concurrency=4,
                         cache=str(tmp / "cache.sqlite"), max_tokens=64)
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(demo))
    return runs, prompts, config


if __name__ == "__main__":
    main()
