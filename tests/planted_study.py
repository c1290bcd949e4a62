"""A small study with planted effects, written for the statistics tests (independent of report/synthetic.py).

3 models x 5 levels (L0 L1 L2 L3 P) x 16 questions. Quality = question difficulty + model offset + the
planted level effect + noise; the four dimensions are a quarter of it each, so the total is their sum.

- "gains": +0.5, +1, +2 at L1, L2, L3; P = L3 - 1 (padding hurts by 1). Energy grows with the level.
- "flat": no effect at any level.
- "cheap": 1.5 points below "flat", at a third of the energy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from slmbench.records import RunRecord, write_jsonl
from slmbench.scores import write_score_rows

LEVELS = ["L0", "L1", "L2", "L3", "P"]
MODELS = ["gains", "flat", "cheap"]
QUESTIONS = 16
EFFECTS = {"gains": (0.0, 0.5, 1.0, 2.0, 1.0), "flat": (0.0,) * 5, "cheap": (0.0,) * 5}
OFFSET = {"gains": 0.0, "flat": 0.5, "cheap": -1.0}
ENERGY_J = {"gains": 3.0, "flat": 3.0, "cheap": 1.0}  # at L0; +15% per level
PLANTED_L3 = 2.0
NOISE = 0.4


def planted_rows(seed: int = 11, noise: float = NOISE):
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(6.0, 1.0, QUESTIONS)
    runs, scores = [], []
    for model in MODELS:
        for li, level in enumerate(LEVELS):
            for q in range(QUESTIONS):
                qid = 101 + q
                completion = int(150 + 20 * li + rng.integers(0, 40))
                latency = 200.0 + completion * 25.0 * (0.5 if model == "cheap" else 1.0) + rng.normal(0, 20)
                energy = ENERGY_J[model] * (1 + 0.15 * li) * (1 + rng.normal(0, 0.05))
                runs.append(RunRecord(
                    model_id=model, model_file=f"{model}.gguf", model_sha256=None, quant="Q6_K", level=level,
                    question_id=qid, category="writing" if q < 8 else "math", prompt=f"Q{qid} {level}",
                    output=f"answer {model} {level} {qid}", prompt_tokens=40 + 60 * li + int(rng.integers(0, 5)),
                    completion_tokens=completion, latency_ms=round(latency, 3), ttft_ms=50.0, prefill_tok_s=400.0,
                    decode_tok_s=30.0, energy_j=round(energy, 5), power_source="tegrastats",
                    device="NVIDIA Jetson AGX Orin", finish_reason="stop", temperature=0.0, max_tokens=1024,
                    n_ctx=4096, seed=1, started_at="2025-01-01T00:00:00Z", status="ok",
                ).__dict__.copy())
                total = float(np.clip(difficulty[q] + OFFSET[model] + EFFECTS[model][li] + rng.normal(0, noise),
                                      0.5, 9.5))
                dims = [total / 4] * 4
                scores.append({"question_id": qid, "category": runs[-1]["category"], "model_id": model,
                               "level": level, "factuality": dims[0], "helpfulness": dims[1], "structure": dims[2],
                               "conciseness": dims[3], "total_score": sum(dims), "reason": "planted",
                               "judge_model": "planted", "judge_status": "ok", "rubric_version": "1"})
    return runs, scores


def write_planted_study(directory: Path, runs=None, scores=None, seed: int = 11):
    """<directory>/runs_llamacpp.jsonl and scores_absolute.csv; returns (runs path, scores path, runs, scores)."""
    if runs is None or scores is None:
        runs, scores = planted_rows(seed)
    directory.mkdir(parents=True, exist_ok=True)
    runs_path, scores_path = directory / "runs_llamacpp.jsonl", directory / "scores_absolute.csv"
    write_jsonl(runs_path, runs)
    write_score_rows(scores, scores_path)
    return runs_path, scores_path, runs, scores
