"""Known truth for the study's statistics (issue 25): simulated studies of 3 models x 5 levels x Q questions in
8 categories (tests/known_truth.py), written in the project's runs and scores formats, loaded and analysed by the
project's own report functions (load_study, model_data, level_summary, contrast_table, decisions, shards).

- effect studies (L3 +1.5, P +0.5 for one model; others flat): coverage of the 95 % CIs of the quality means
  and of the declared quality contrasts (goal 93-97 %), and of the energy contrasts with a shard effect of
  sd 2 J (goal >= 92 %), shard-aware and, for comparison, question-only;
- null studies (every level equal): Holm family-wise error of the quality contrasts (goal <= 5 %); the
  best-level set contains every truly best level (all of them) in >= 90 % of (study, model), and names a
  single winner in <= 10 %.

    python benchmarks/study_design_sim.py [--studies 200] [--questions 40] [--smoke]

The last line of stdout is one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from _sizes import parse_sizes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from known_truth import CATEGORIES, LEVELS, Truth, write_study  # noqa: E402
from slmbench.report.contrasts import contrast_table, declared_contrasts  # noqa: E402
from slmbench.report.data import load_study  # noqa: E402
from slmbench.report.decisions import best_level_sets  # noqa: E402
from slmbench.report.shards import contrast_interval, shard_bootstraps, with_shard_cis  # noqa: E402
from slmbench.report.stats import analysis_rows, level_summary, model_data, paired_diff  # noqa: E402

EFFECTS = {"m1": (0.0, 0.0, 0.0, 1.5, 0.5), "m2": (0.0,) * 5, "m3": (0.0,) * 5}
OFFSETS = {"m1": 0.0, "m2": 0.3, "m3": -0.3}
ENERGY = {"m1": 20.0, "m2": 25.0, "m3": 15.0}


def truth_for(questions: int, null: bool) -> Truth:
    per = max(1, questions // len(CATEGORIES))
    return Truth(per_category=per, effects={} if null else EFFECTS, offsets=OFFSETS, energy_base=ENERGY)


def analyse(directory: Path, truth: Truth, seed: int, samples: int) -> dict:
    runs, scores = write_study(directory, truth, seed)
    settings = {"levels": list(LEVELS), "bootstrap_samples": samples, "seed": seed}
    study = load_study(runs, scores, settings)
    frame = analysis_rows(study.runs)
    datas = {m: model_data(study, frame, m) for m in study.models}
    contrasts = declared_contrasts(study.levels)
    s = study.settings
    table = contrast_table(datas, contrasts, s.seed, s.alpha, metrics=["quality"])
    boots = shard_bootstraps(study, frame, datas)
    summary = with_shard_cis(level_summary(study, datas, frame), datas, boots)
    sets = best_level_sets(datas, summary, s.alpha)
    out = {"means": [], "contrasts": [], "energy": [], "energy_questions": [], "any_rejected": False,
           "contains_all": [], "contains_each": [], "winner": []}
    for r in summary.itertuples():
        j = truth.levels.index(r.level)
        out["means"].append(r.quality_low <= truth.true_quality(r.model, j) <= r.quality_high)
    for r in table.itertuples():
        j, ref = truth.levels.index(r.level), truth.levels.index(r.reference)
        true = truth.effect(r.model, j) - truth.effect(r.model, ref)
        out["contrasts"].append(r.ci_low <= true <= r.ci_high)
        out["any_rejected"] |= bool(r.p_adj < s.alpha)
        data = datas[r.model]
        energy_true = truth.true_energy(r.model, j) - truth.true_energy(r.model, ref)
        _, low, high, _ = contrast_interval(data, boots[r.model], data.energy, j, ref)
        out["energy"].append(low <= energy_true <= high)
        _, _, qlow, qhigh = paired_diff(data, data.energy, j, ref)  # the question-only bootstrap, as before
        out["energy_questions"].append(qlow <= energy_true <= qhigh)
    quality = sets[sets["metric"] == "quality"]
    for model, own in quality.groupby("model"):
        effects = np.array([truth.effect(model, j) for j in range(len(truth.levels))])
        best = effects == effects.max()
        members = own.set_index("level").reindex(truth.levels)["in_set"].to_numpy(dtype=bool)
        out["contains_all"].append(bool(members[best].all()))
        out["contains_each"].extend(members[best].tolist())
        out["winner"].append(bool(own["winner"].notna().any()))
        out[f"winner_{model}"] = own["winner"].dropna().iloc[0] if own["winner"].notna().any() else None
    return out


def share(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def run(studies: int, questions: int, samples: int, seed: int = 25) -> dict:
    started = time.perf_counter()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("effect", "null"):
            truth = truth_for(questions, null=name == "null")
            found = [analyse(Path(tmp) / f"{name}{i}", truth, seed * 100_000 + i + (50_000 if name == "null" else 0),
                             samples) for i in range(studies)]
            pooled = {key: [v for f in found for v in f[key]] for key in ("means", "contrasts", "energy",
                                                                            "energy_questions", "contains_all",
                                                                            "contains_each", "winner")}
            if name == "effect":
                figures["study_design_mean_coverage"] = share(pooled["means"])
                figures["study_design_contrast_coverage"] = share(pooled["contrasts"])
                figures["study_design_energy_contrast_coverage"] = share(pooled["energy"])
                figures["study_design_energy_coverage_questions_only"] = share(pooled["energy_questions"])
                # m1's L3 is 1.5 points above its other levels: how often it is named the single winner
                figures["study_design_separated_winner_named"] = share([f["winner_m1"] == "L3" for f in found])
            else:
                figures["study_design_fwer_null"] = share([f["any_rejected"] for f in found])
                figures["study_design_best_set_contains_best_null"] = share(pooled["contains_all"])
                figures["study_design_best_set_contains_each_null"] = share(pooled["contains_each"])
                figures["study_design_single_winner_null"] = share(pooled["winner"])
                figures["study_design_energy_contrast_coverage_null"] = share(pooled["energy"])
    for key in ("mean", "contrast"):  # the goal is two-sided (93-97 %): the distance from 95 %
        figures[f"study_design_{key}_coverage_gap"] = round(abs(figures[f"study_design_{key}_coverage"] - 0.95), 4)
    figures.update(study_design_studies=studies, study_design_questions=questions,
                   study_design_bootstrap_samples=samples, study_design_s=round(time.perf_counter() - started, 1))
    return figures


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200, help="replications per scenario (effect, null)")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples per interval")
    args = parse_sizes(parser, argv, {"studies": 2, "questions": 16, "samples": 200})
    figures = run(args.studies, args.questions, args.samples)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
