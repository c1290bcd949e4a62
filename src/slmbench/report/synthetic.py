"""Synthetic runs and scores with known effects, for the tests and benchmarks/report_speed.py.

Behaviour "rising" gains one quality point per prompt level up to L3 and loses one with padding (P);
"flat" scores the same at every level; "verbose" writes much longer answers at higher levels and the judge
rewards only their length (no effect left at equal length). Everything else (tokens, latency, energy) is
plausible and seeded, so a report built from it has known right answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..layout import RUNS_FILE, SCORES_FILE
from ..records import RunRecord, write_jsonl
from ..scores import DIMENSIONS, write_score_rows

LEVELS = ("L0", "L1", "L2", "L3", "P")
CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")
NO_SENSOR_NOTE = "no power sensor found (tried tegrastats, INA3221, NVML, RAPL); energy not measured"
# quality effect per level index, by model behaviour
EFFECTS = {"rising": (0.0, 1.0, 2.0, 3.0, -1.0), "flat": (0.0,) * 5, "verbose": (0.0,) * 5}
EXTRA_TOKENS_PER_LEVEL = {"rising": 30, "flat": 0, "verbose": 100}
TOKEN_SPREAD = {"rising": 25, "flat": 25, "verbose": 80}  # sd of completion tokens within a level
POINTS_PER_TOKEN = {"verbose": 1 / 100}  # the length-only judge effect
PROMPT_TOKENS = (30, 60, 110, 200, 420)


def _half_points(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 2) / 2, 0, 2.5)


def synthetic_records(models: Sequence[str], behaviours: Sequence[str], levels: Sequence[str],
                      categories: Sequence[str], per_category: int, energy: bool, rng: np.random.Generator,
                      output_text: Callable[[str, str, int], str]):
    """(runs, scores) as lists of dicts."""
    runs, scores = [], []
    base_quality = rng.normal(5.0, 1.0, size=len(categories) * per_category)
    for model, behaviour in zip(models, behaviours):
        decode = 20.0 if behaviour == "rising" else 35.0
        for li, level in enumerate(levels):
            for ci_, category in enumerate(categories):
                for k in range(per_category):
                    qi = ci_ * per_category + k
                    qid = 81 + qi
                    completion = int(max(8, rng.normal(160 + EXTRA_TOKENS_PER_LEVEL[behaviour] * li,
                                                       TOKEN_SPREAD[behaviour])))
                    prompt_tokens = int((PROMPT_TOKENS[li] if li < 5 else 100 * li) + rng.integers(0, 10))
                    ttft = prompt_tokens / 400 * 1000 + rng.normal(50, 5)
                    latency = ttft + completion / (decode + rng.normal(0, 0.5)) * 1000
                    power_w = rng.normal(6.0, 0.3)
                    record = RunRecord(
                        model_id=model, model_file=f"{model}.gguf", model_sha256=None, quant="Q6_K", level=level,
                        question_id=qid, category=category, prompt=f"Question {qid} at {level}",
                        output=output_text(model, level, qid), prompt_tokens=prompt_tokens,
                        completion_tokens=completion, latency_ms=round(latency, 3), ttft_ms=round(ttft, 3),
                        prefill_tok_s=400.0, decode_tok_s=round(completion / ((latency - ttft) / 1000), 3),
                        power_source="tegrastats" if energy else "none",
                        device="NVIDIA Jetson AGX Orin Developer Kit" if energy else "Linux x86_64 (2 CPUs)",
                        finish_reason="stop", temperature=0.0, max_tokens=1024, n_ctx=4096, seed=42,
                        started_at="2025-01-01T00:00:00Z", status="ok",
                    )
                    if energy:
                        record.energy_j = round(power_w * latency / 1000, 4)
                        record.energy_gross_j = round((power_w + 2.0) * latency / 1000, 4)
                        # split at the first token as inference.py does; per token = decode energy only
                        record.energy_prefill_j = round(power_w * ttft / 1000, 4)
                        record.energy_decode_j = round(record.energy_j - record.energy_prefill_j, 4)
                        record.energy_per_token_j = round(record.energy_decode_j / completion, 6)
                        record.mean_power_mw, record.idle_power_mw = power_w * 1000 + 2000, 2000.0
                        record.power_samples = int(latency / 100)
                    else:
                        record.energy_note = NO_SENSOR_NOTE
                    runs.append(record.__dict__.copy())
                    latent = (base_quality[qi] + EFFECTS[behaviour][li % 5] + rng.normal(0, 0.8)
                              + POINTS_PER_TOKEN.get(behaviour, 0.0) * (completion - 160))
                    dims = _half_points(latent / 4 + rng.normal(0, 0.25, size=4))
                    scores.append({
                        "question_id": qid, "category": category, "model_id": model, "level": level,
                        **dict(zip(DIMENSIONS, dims.tolist())), "total_score": float(dims.sum()),
                        "reason": f"Synthetic verdict for {model} {level} Q{qid}.", "judge_model": "synthetic-judge",
                        "judge_status": "ok", "rubric_version": "1",
                    })
    return runs, scores


def write_synthetic_study(outdir, models: Sequence[str] = ("rising", "flat"),
                          behaviours: Optional[Sequence[str]] = None, levels: Sequence[str] = LEVELS,
                          categories: Sequence[str] = CATEGORIES, per_category: int = 10, energy: bool = True,
                          seed: int = 7, output_text: Optional[Callable[[str, str, int], str]] = None):
    """Write the merged runs and scores (layout.RUNS_FILE, layout.SCORES_FILE) under outdir; return both paths and
    the rows."""
    outdir = Path(outdir)
    behaviours = list(behaviours or [("rising", "flat")[i % 2] for i in range(len(models))])
    text = output_text or (lambda model, level, qid: f"Answer of {model} to question {qid} at {level}.")
    runs, scores = synthetic_records(models, behaviours, levels, categories, per_category, energy,
                                     np.random.default_rng(seed), text)
    runs_path, scores_path = outdir / RUNS_FILE, outdir / SCORES_FILE
    write_jsonl(runs_path, runs)
    write_score_rows(scores, scores_path)
    return runs_path, scores_path, runs, scores
