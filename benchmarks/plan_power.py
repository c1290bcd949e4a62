"""Known truth for `slmbench plan` (slmbench.report.plan): does its simulated power hold when studies drawn with a
known effect go through the project's own report functions?

A generator written for this benchmark (not report/synthetic.py) draws studies of the reference design, 4 models x
5 levels (L0 L1 L2 L3 P) x Q questions, from the plan's stated default noise (question sd 1.5 per model, residual sd
1.3), with one true effect: model 1's P level is delta points above its L3, so the declared contrast "P vs L3" of
model 1 carries delta and every other contrast of the family is null (P is in no other contrast). Each study is
tested by report/contrasts.contrast_table (sign-flip permutation tests, Holm over all 24 models x contrasts), the
report's own path; the share of studies in which model 1's "P vs L3" is Holm-significant is the simulated power.

Figures:
- plan_power_plan: the plan's power at delta = 0.5 and Q = 80; plan_power_simulated: the report's; their gap in
  percentage points (goal: at most 5; 400 studies: Monte Carlo sd about 2.2 points);
- plan_mde: the plan's MDE at 80 %; plan_mde_power_simulated: the report's power at it (its gap to 80 %: goal at
  most 6 points, the Monte Carlo sd of 200 studies is 2.8); plan_mde_power_t: the same on 20,000 studies tested by
  the sign-flip test's normal approximation and Holm's step-down, written out here independently of the plan's
  vectorised code (goal: within 2 points of 80 %, the printed 78-82 %);
- contrast_mde_power_t: the same for the `mde` column of the contrasts sheet (contrasts.detectable_dz for a Holm
  family of 24 x the true SD of the difference).

    python benchmarks/plan_power.py [--studies 400] [--mde-studies 200] [--questions 80] [--t-studies 20000] [--smoke]

Cost: about 0.5 s of CPU per study through the report's contrast table (24 sign-flip tests of 10,000 patterns):
the full size takes about 5 minutes on one core.

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from _sizes import parse_sizes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from slmbench.report.contrasts import contrast_table, declared_contrasts, detectable_dz  # noqa: E402
from slmbench.report.plan import Design, NoiseModel, plan_power  # noqa: E402
from slmbench.report.stats import Bootstrap, ModelData  # noqa: E402

MODELS = ("m1", "m2", "m3", "m4")
LEVELS = ("L0", "L1", "L2", "L3", "P")
QUESTION_SD, RESIDUAL_SD = 1.5, 1.3
EFFECT = 0.5
ALPHA = 0.05
TARGET = ("m1", "P vs L3")


def draw_study(rng: np.random.Generator, questions: int, delta: float) -> dict:
    """model -> questions x levels quality matrix: 6 + a question effect per model + residual, delta at m1's P."""
    out = {}
    for model in MODELS:
        question = rng.normal(0, QUESTION_SD, (questions, 1))
        quality = 6.0 + question + rng.normal(0, RESIDUAL_SD, (questions, len(LEVELS)))
        if model == TARGET[0]:
            quality[:, LEVELS.index("P")] += delta
        out[model] = quality
    return out


def report_hits(study: dict, seed: int) -> bool:
    """Model 1's P vs L3 Holm-significant in the report's own contrast table."""
    questions = next(iter(study.values())).shape[0]
    empty = np.full((questions, len(LEVELS)), np.nan)
    datas = {model: ModelData(model, list(range(questions)), list(LEVELS), {"quality": q}, empty, empty, empty,
                              Bootstrap(questions, 100, np.random.default_rng(seed), 0.95))
             for model, q in study.items()}
    table = contrast_table(datas, declared_contrasts(list(LEVELS)), seed, ALPHA, metrics=["quality"])
    row = table[(table["model"] == TARGET[0]) & (table["contrast"] == TARGET[1])].iloc[0]
    return bool(row["p_adj"] < ALPHA)


def report_power(rng: np.random.Generator, studies: int, questions: int, delta: float) -> float:
    return float(np.mean([report_hits(draw_study(rng, questions, delta), seed) for seed in range(studies)]))


def holm_rejects(p: np.ndarray) -> list:
    """Holm's step-down, written out (statsmodels' multipletests runs gc.collect on every call: 80 ms each)."""
    order = np.argsort(p)
    rejected = [False] * len(p)
    for rank, i in enumerate(order):
        if p[i] > ALPHA / (len(p) - rank):
            break
        rejected[i] = True
    return rejected


def t_power(rng: np.random.Generator, studies: int, questions: int, delta: float) -> float:
    """Sign-flip z-tests (scipy's normal tail) of every declared contrast, Holm per study: model 1's P vs L3 found."""
    from scipy.stats import norm

    contrasts = declared_contrasts(list(LEVELS))
    target = [c[0] for c in contrasts].index(TARGET[1])  # m1's contrasts come first
    hits = 0
    for start in range(0, studies, 1000):  # drawn in batches: one t-test call per batch
        batch = [draw_study(rng, questions, delta) for _ in range(min(1000, studies - start))]
        diffs = np.stack([np.stack([study[model][:, LEVELS.index(level)] - study[model][:, LEVELS.index(ref)]
                                    for model in MODELS for _name, level, ref in contrasts]) for study in batch])
        # the sign-flip test's normal approximation, as the plan tests (its exactness: the report-path figures)
        pvalues = 2 * norm.sf(np.abs(diffs.sum(axis=-1)) / np.sqrt((diffs ** 2).sum(axis=-1)))
        hits += sum(holm_rejects(p)[target] for p in pvalues)
    return hits / studies


def run(studies: int, questions: int, t_studies: int, plan_simulations: int, mde_studies: int,
        seed: int = 25) -> dict:
    started = time.perf_counter()
    design = Design(MODELS, LEVELS, questions, 1, ALPHA)
    plan = plan_power(design, NoiseModel(QUESTION_SD, RESIDUAL_SD), EFFECT, plan_simulations, seed,
                      questions_search=False)
    row = plan.rows[0]  # model m1
    rng = np.random.default_rng(seed + 1)  # a different stream from the plan's
    simulated = report_power(rng, studies, questions, EFFECT)
    at_mde = report_power(rng, mde_studies, questions, row.mde)
    at_mde_t = t_power(rng, t_studies, questions, row.mde)
    family = len(MODELS) * len(declared_contrasts(list(LEVELS)))
    sheet_mde = detectable_dz(questions, family, ALPHA) * RESIDUAL_SD * np.sqrt(2)
    sheet_t = t_power(rng, t_studies, questions, sheet_mde)
    return {
        "plan_power_plan": round(row.power, 4), "plan_power_simulated": round(simulated, 4),
        "plan_power_gap_pts": round(100 * abs(row.power - simulated), 2),
        "plan_power_mc_sd_pts": round(100 * np.sqrt(simulated * (1 - simulated) / studies), 2),
        "plan_mde": round(row.mde, 4), "plan_mde_power_simulated": round(at_mde, 4),
        "plan_mde_power_gap_pts": round(100 * abs(at_mde - 0.8), 2),
        "plan_mde_power_mc_sd_pts": round(100 * np.sqrt(0.16 / mde_studies), 2),
        "plan_mde_power_t": round(at_mde_t, 4), "plan_mde_power_t_error_pts": round(100 * abs(at_mde_t - 0.8), 2),
        "contrast_mde": round(float(sheet_mde), 4), "contrast_mde_power_t": round(sheet_t, 4),
        "contrast_mde_power_t_error_pts": round(100 * abs(sheet_t - 0.8), 2),
        "plan_benchmark_studies": studies, "plan_benchmark_mde_studies": mde_studies,
        "plan_benchmark_t_studies": t_studies,
        "plan_benchmark_questions": questions, "plan_benchmark_s": round(time.perf_counter() - started, 1),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=400, help="studies through the report's contrast table")
    parser.add_argument("--questions", type=int, default=80)
    parser.add_argument("--mde-studies", type=int, default=200,
                        help="studies through the report's contrast table at the plan's MDE")
    parser.add_argument("--t-studies", type=int, default=20000, help="studies through the sign-flip z-test and Holm")
    parser.add_argument("--plan-simulations", type=int, default=4000, help="the plan's own simulated studies")
    args = parse_sizes(parser, argv, {"studies": 3, "mde_studies": 2, "t_studies": 300,
                                           "plan_simulations": 200})
    figures = run(args.studies, args.questions, args.t_studies, args.plan_simulations, args.mde_studies)
    for name, value in figures.items():
        print(f"{name}: {value}", file=sys.stderr)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
