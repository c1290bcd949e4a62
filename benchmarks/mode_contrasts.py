"""Known truth for the power-mode statistics (slmbench.report.modes): simulated studies of 2 models x 2 levels x
2 power modes x Q questions, latency with a question effect and run noise.

- null (no mode effect): the family-wise error rate of the Holm-adjusted mode contrasts (goal: at most alpha,
  within Monte Carlo error), the coverage of their bootstrap CIs of the mean paired difference (true value 0),
  and the type I error of the mixed model's likelihood-ratio test of the mode term;
- effect (mode B: +400 ms on every answer, noise sd 300 ms): the share of contrasts found significant (power)
  and the coverage of the CIs of the true difference (400).

    python benchmarks/mode_contrasts.py [--studies 200] [--questions 20] [--smoke]

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _sizes import parse_sizes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from slmbench.report.modes import mixed_mode_tests, mode_contrasts  # noqa: E402
from slmbench.report.settings import ReportSettings  # noqa: E402

EFFECT_MS = 400.0
NOISE_MS = 300.0


def simulated_frame(rng: np.random.Generator, questions: int, effect_ms: float) -> pd.DataFrame:
    rows = []
    question_ms = rng.normal(5000, 1000, size=questions)
    for model, speed in (("a", 1.0), ("b", 1.4)):
        for level, longer in (("L0", 0.0), ("L1", 800.0)):
            for mode, shift in ((0, 0.0), (2, effect_ms)):
                for q in range(questions):
                    latency = speed * question_ms[q] + longer + shift + rng.normal(0, NOISE_MS)
                    rows.append({"model_id": model, "level": level, "question_id": q, "variant": 0,
                                 "power_mode_id": mode, "mode": "MAXN" if mode == 0 else "7W", "in_analysis": True,
                                 "status": "ok", "quality": np.nan, "latency_ms": latency, "energy_j": np.nan,
                                 "ttft_ms": np.nan, "decode_tok_s": np.nan, "completion_tokens": 100.0})
    return pd.DataFrame(rows)


def run(studies: int, questions: int, mixed_studies: int, seed: int = 30) -> dict:
    settings = ReportSettings(bootstrap_samples=1000, seed=seed)
    rng = np.random.default_rng(seed)
    figures = {}
    started = time.perf_counter()
    for name, effect in (("null", 0.0), ("effect", EFFECT_MS)):
        any_rejected, covered, rejected, total = 0, 0, 0, 0
        for _ in range(studies):
            table = mode_contrasts(simulated_frame(rng, questions, effect), settings, "MAXN")
            latency = table[table["metric"] == "latency_ms"]
            sig = latency["p_holm"] < settings.alpha
            any_rejected += bool(sig.any())
            rejected += int(sig.sum())
            covered += int(((latency["ci_low"] <= effect) & (effect <= latency["ci_high"])).sum())
            total += len(latency)
        if name == "null":
            figures["mode_contrasts_fwer_null"] = any_rejected / studies
            figures["mode_contrasts_coverage_null"] = covered / total
        else:
            figures["mode_contrasts_power"] = rejected / total
            figures["mode_contrasts_coverage_effect"] = covered / total
    if mixed_studies:
        hits = 0
        for _ in range(mixed_studies):
            tests = mixed_mode_tests(simulated_frame(rng, questions, 0.0), ["L0", "L1"])
            p = tests[(tests["metric"] == "latency_ms") & (tests["test"] == "mode (overall)")]["p"].iloc[0]
            hits += bool(p < settings.alpha)
        figures["mode_mixed_type1_null"] = hits / mixed_studies
    figures.update(mode_benchmark_studies=studies, mode_benchmark_questions=questions,
                   mode_benchmark_mixed_studies=mixed_studies, mode_benchmark_s=round(time.perf_counter() - started, 1))
    return figures


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--mixed-studies", type=int, default=100)
    args = parse_sizes(parser, argv, {"studies": 4, "mixed_studies": 2})
    figures = run(args.studies, args.questions, args.mixed_studies)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
