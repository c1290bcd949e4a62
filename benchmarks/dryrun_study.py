"""How long does `snakemake -n` take on the full study (160 shards), and on a 4x larger one?

The larger study repeats the 4 models 4 times under other ids (640 shards, 640 judge jobs). Each dry run
is timed as a whole command (interpreter start included), median of --repeats, in a scratch directory
holding only the config and a made-up prompt spreadsheet. Prints absolute seconds and the 4x/1x ratio.

    python benchmarks/dryrun_study.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import yaml

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ["L0", "L1", "L2", "L3", "P"]
CATEGORIES = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]


def scratch_study(work: Path, model_copies: int) -> None:
    (work / "config").mkdir(parents=True)
    (work / "config/demo.yaml").write_bytes((ROOT / "config/demo.yaml").read_bytes())
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    base = config["models"]
    config["models"] = [dict(m, id=f"{m['id']}-{k}" if k else m["id"]) for k in range(model_copies) for m in base]
    (work / "config/study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["question_id", "category", *LEVELS])
    for i in range(80):
        sheet.append([81 + i, CATEGORIES[i // 10], *[f"prompt {i} {lvl}" for lvl in LEVELS]])
    (work / "data").mkdir()
    book.save(work / "data/generated_prompts.xlsx")


def time_dry_run(work: Path, repeats: int) -> float:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(work),
           "--configfile", "config/study.yaml", "-n", "--cores", "1", "--quiet", "all"]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | {"HF_HUB_OFFLINE": "1"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=work, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for copies, key in ((1, "dryrun_study_s"), (4, "dryrun_study_4x_s")):
            work = Path(tmp) / f"x{copies}"
            scratch_study(work, copies)
            results[key] = round(time_dry_run(work, args.repeats), 3)
    results["dryrun_growth_ratio"] = round(results["dryrun_study_4x_s"] / results["dryrun_study_s"], 3)
    print(f"snakemake -n, 160 shards: {results['dryrun_study_s']:.2f} s (goal <= 3 s); "
          f"640 shards: {results['dryrun_study_4x_s']:.2f} s; ratio {results['dryrun_growth_ratio']:.2f}")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
