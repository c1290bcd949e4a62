"""Studies with known truth in the project's own formats (runs JSONL, scores CSV), written for the study-design
benchmark (benchmarks/study_design_sim.py) and the decision tests; independent of report/synthetic.py.

Each replication draws fresh questions from a population, so the truth is a population mean:
- quality (0-10 total, four equal dimensions) = CENTRE + model offset + level effect + question effect
  (sd `question_sd`) + answer noise (sd `noise_sd`); true mean of (model, level) = CENTRE + offset + effect;
- reference_match, for questions of the categories in `reference_categories`: Bernoulli(correct[model][level]);
- energy J = base + level step + shard effect (one per model x level x category, sd `shard_sd`) + question
  effect + run noise; true mean = base + step; latency likewise in ms.
Values are kept inside 0-10 by the choice of centre and spreads (clipping would move the truth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from slmbench.records import RunRecord, write_jsonl
from slmbench.scores import write_score_rows

LEVELS = ("L0", "L1", "L2", "L3", "P")
CENTRE = 5.0
CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")


@dataclass
class Truth:
    models: Sequence[str] = ("m1", "m2", "m3")
    levels: Sequence[str] = LEVELS
    categories: Sequence[str] = CATEGORIES
    per_category: int = 5
    effects: Dict[str, Sequence[float]] = field(default_factory=dict)  # model -> quality effect per level
    offsets: Dict[str, float] = field(default_factory=dict)
    question_sd: float = 1.0
    noise_sd: float = 0.8
    reference_categories: Sequence[str] = ("reasoning", "math", "coding")
    correct: Dict[str, Sequence[float]] = field(default_factory=dict)  # model -> P(match) per level
    energy_base: Dict[str, float] = field(default_factory=dict)  # J at the baseline level
    energy_step: Sequence[float] = (0.0, 1.0, 2.0, 3.0, 4.0)  # J added per level
    shard_sd: float = 2.0
    energy_question_sd: float = 2.0
    energy_noise_sd: float = 1.0
    latency_base_ms: float = 4000.0
    latency_step_ms: Sequence[float] = (0.0, 100.0, 200.0, 300.0, 400.0)
    latency_shard_sd: float = 150.0
    latency_noise_sd: float = 200.0

    def effect(self, model: str, j: int) -> float:
        return float(self.effects.get(model, (0.0,) * len(self.levels))[j])

    def true_quality(self, model: str, j: int) -> float:
        return CENTRE + self.offsets.get(model, 0.0) + self.effect(model, j)

    def true_energy(self, model: str, j: int) -> float:
        return self.energy_base.get(model, 20.0) + self.energy_step[j]

    def true_correct(self, model: str, j: int) -> float:
        return float(self.correct.get(model, (0.5,) * len(self.levels))[j])


def study_rows(truth: Truth, rng: np.random.Generator):
    """(runs, scores): run records and score rows as the pipeline writes them."""
    runs, scores = [], []
    questions = [(101 + i, c) for i, c in enumerate(c for c in truth.categories for _ in range(truth.per_category))]
    difficulty = rng.normal(0, truth.question_sd, len(questions))
    energy_q = rng.normal(0, truth.energy_question_sd, len(questions))
    for model in truth.models:
        for j, level in enumerate(truth.levels):
            shard = {c: rng.normal(0, truth.shard_sd) for c in truth.categories}
            shard_ms = {c: rng.normal(0, truth.latency_shard_sd) for c in truth.categories}
            for q, (qid, category) in enumerate(questions):
                energy = (truth.true_energy(model, j) + shard[category] + energy_q[q]
                          + rng.normal(0, truth.energy_noise_sd))
                latency = (truth.latency_base_ms + truth.latency_step_ms[j] + shard_ms[category]
                           + rng.normal(0, truth.latency_noise_sd))
                runs.append(RunRecord(
                    model_id=model, model_file=f"{model}.gguf", model_sha256=None, quant="Q6_K", level=level,
                    question_id=qid, category=category, prompt=f"Q{qid} {level}", output=f"{model} {level} {qid}",
                    prompt_tokens=50 + 80 * j, completion_tokens=int(200 + rng.integers(0, 50)),
                    latency_ms=round(latency, 3), ttft_ms=60.0, prefill_tok_s=500.0, decode_tok_s=30.0,
                    energy_j=round(energy, 5), power_source="tegrastats", device="NVIDIA Jetson AGX Orin",
                    finish_reason="stop", temperature=0.0, max_tokens=1024, n_ctx=4096, seed=1,
                    started_at="2026-01-01T00:00:00Z", status="ok",
                ).__dict__.copy())
                total = truth.true_quality(model, j) + difficulty[q] + rng.normal(0, truth.noise_sd)
                match = bool(rng.random() < truth.true_correct(model, j))
                graded = category in truth.reference_categories
                scores.append({"question_id": qid, "category": category, "model_id": model, "level": level,
                               **{d: total / 4 for d in ("factuality", "helpfulness", "structure", "conciseness")},
                               "total_score": total, "reason": "known truth", "judge_model": "known-truth",
                               "judge_status": "ok", "rubric_version": "1",
                               "reference_match": match if graded else None})
    return runs, scores


def write_study(directory: Path, truth: Truth, seed: int):
    """<directory>/runs_llamacpp.jsonl and scores_absolute.csv of one replication; returns their paths."""
    runs, scores = study_rows(truth, np.random.default_rng(seed))
    directory.mkdir(parents=True, exist_ok=True)
    runs_path, scores_path = directory / "runs_llamacpp.jsonl", directory / "scores_absolute.csv"
    write_jsonl(runs_path, runs)
    write_score_rows(scores, scores_path)
    return runs_path, scores_path


def analysed_study(directory: Path, truth: Truth, seed: int, levels: Sequence[str], bootstrap_samples: int):
    """One replication written under `directory`/in, analysed by the project's report and its workbooks written to
    `directory`: (analysis, model_comparison.xlsx, the scores file)."""
    from slmbench.report.analysis import load_analysis
    from slmbench.report.workbooks import write_workbooks

    runs, scores = write_study(directory / "in", truth, seed)
    analysis = load_analysis(runs, scores, {"levels": list(levels), "bootstrap_samples": bootstrap_samples})
    write_workbooks(analysis, directory, figures={})
    return analysis, directory / "model_comparison.xlsx", scores
