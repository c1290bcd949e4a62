"""`slmbench plan` (report/plan.py) and the answers of the declared contrasts: power and MDE printed by the real
command line, a bad --from named in one line, the noise estimated from a finished study, the TOST verdicts and the
pooled level effect on planted data (benchmarks/plan_power.py checks the power against the report by simulation)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from planted_study import MODELS, NOISE, QUESTIONS, write_planted_study

from slmbench.cli import main
from slmbench.report.contrasts import contrast_table, declared_contrasts
from slmbench.report.plan import Design, NoiseModel, holm_adjusted, plan_power
from slmbench.report.stats import Bootstrap, ModelData

LEVELS = ["L0", "L1", "L2", "L3", "P"]


def plan_output(capsys, *extra: str) -> str:
    assert main(["plan", "--configfile", "config/config.yaml", "--simulations", "300", *extra]) == 0
    return capsys.readouterr().out


def test_plan_prints_power_and_mde_for_the_study_config(capsys):
    out = plan_output(capsys, "--questions", "80")
    assert "4 model(s) x 5 levels x 80 questions" in out
    assert "L2 vs L1" in out and "L3 vs L2" in out and "Holm over 24 tests" in out
    assert "question sd 1.50, residual sd 1.30" in out and "(defaults)" in out
    rows = {m.group(1): m for m in re.finditer(
        r"^(qwen1\.5-1\.8b|gemma-2-2b|phi-3\.5-mini|qwen3-4b|pooled \(4 models\))\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+"
        r"(\d+) %\s+([\d.]+)\s+(.*)$", out, re.M)}
    assert len(rows) == 5
    # a paired t-test at alpha/24 with 80 questions: about 23 % power for 0.5 points, MDE about 0.83 (the
    # normal approximation; benchmarks/plan_power.py checks against the report's own tests)
    for model in ("qwen1.5-1.8b", "qwen3-4b"):
        power, mde = int(rows[model].group(5)), float(rows[model].group(6))
        assert 15 <= power <= 32 and 0.75 <= mde <= 0.92
    assert int(rows["qwen1.5-1.8b"].group(7)) > 150  # questions for 80 % at 0.5 points
    assert int(rows["pooled (4 models)"].group(5)) > 90


def test_plan_effect_and_questions_options_move_the_power(capsys):
    small = plan_output(capsys, "--questions", "40", "--effect", "1.0")
    big = plan_output(capsys, "--questions", "160", "--effect", "1.0")
    power = [int(re.search(r"^qwen3-4b\s+\S+\s+\S+\s+\d+\s+(\d+) %", text, re.M).group(1)) for text in (small, big)]
    assert power[0] < power[1] and power[1] >= 95


def test_a_bad_from_directory_is_one_line_naming_it(tmp_path, capsys):
    missing = tmp_path / "no-such-results"
    assert main(["plan", "--configfile", "config/config.yaml", "--from", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err and "runs_llamacpp.jsonl" in err


def test_from_a_finished_study_estimates_its_noise(tmp_path, capsys):
    runs, _scores, _r, _s = write_planted_study(tmp_path)
    out = plan_output(capsys, "--from", str(runs.parent), "--questions", "16")
    assert f"estimated from {runs.parent}" in out
    residual = float(re.search(r"residual sd ([\d.]+)", out).group(1))
    assert residual == pytest.approx(NOISE, rel=0.3)  # the planted noise per answer


def test_vectorised_holm_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(3).uniform(0, 0.2, size=(20, 12))
    ours = holm_adjusted(p)
    for row, adjusted in zip(p, ours):
        assert adjusted == pytest.approx(multipletests(row, method="holm")[1], rel=1e-12)


def test_power_rises_with_questions_and_effect():
    design = Design(("a", "b"), tuple(LEVELS), 40, 1, 0.05)
    low = plan_power(design, NoiseModel(), 0.5, 400, 1, questions_search=False).rows[0]
    high = plan_power(design, NoiseModel(), 1.5, 400, 1, questions_search=False).rows[0]
    assert low.power < 0.2 < 0.95 < high.power and low.mde == pytest.approx(high.mde, rel=0.05)
    assert low.family_size == 12


def planted_datas(questions: int, delta: float, sd: float, seed: int = 4) -> dict:
    """Two models; model "a" has +delta at every level above L0 (so L1..L3 vs L0 carry delta), "b" none."""
    rng = np.random.default_rng(seed)
    empty = np.full((questions, len(LEVELS)), np.nan)
    datas = {}
    for model in ("a", "b"):
        quality = 6 + rng.normal(0, 1.5, (questions, 1)) + rng.normal(0, sd, (questions, len(LEVELS)))
        if model == "a":
            quality[:, 1:] += delta
        datas[model] = ModelData(model, list(range(questions)), LEVELS, {"quality": quality}, empty, empty, empty,
                                 Bootstrap(questions, 200, np.random.default_rng(seed), 0.95))
    return datas


def verdicts(datas) -> pd.Series:
    table = contrast_table(datas, declared_contrasts(LEVELS), 5, 0.05, metrics=["quality"], margin=0.5)
    return table.set_index(["model", "contrast"])["equivalence"]


def test_equivalence_verdicts_on_planted_studies():
    equal = verdicts(planted_datas(60, 0.0, 0.3))
    assert set(equal) == {"equivalent within ±0.5"}
    plus_two = verdicts(planted_datas(60, 2.0, 0.3))
    assert all(plus_two[("a", f"{lvl} vs L0")] == "better" for lvl in ("L1", "L2", "L3"))
    assert plus_two[("b", "L1 vs L0")] == "equivalent within ±0.5"
    tiny = verdicts(planted_datas(4, 0.0, 1.0))
    assert set(tiny) == {"inconclusive"}
    assert not any("no difference" in v or "no significant" in v for v in [*equal, *plus_two, *tiny])


def test_the_contrasts_carry_an_mde_from_the_observed_sd():
    from scipy.stats import norm

    datas = planted_datas(30, 0.0, 1.0)
    table = contrast_table(datas, declared_contrasts(LEVELS), 5, 0.05, metrics=["quality"])
    row = table.iloc[0]
    assert row["family_size"] == 12 and row["mde_alpha"] == pytest.approx(0.05 / 12)
    dz = row["mde"] / row["sd_diff"]
    assert (table["mde"] / table["sd_diff"]).to_numpy() == pytest.approx(dz, rel=1e-9)  # one n, one family
    # above the normal approximation of a z-test at alpha / 12 (the sign-flip and t tests need more)
    normal = (norm.ppf(1 - 0.05 / 12 / 2) + norm.ppf(0.8)) / np.sqrt(30)
    assert normal < dz < 1.3 * normal


def test_pooled_level_effect_is_the_mean_over_models_of_the_paired_differences(tmp_path):
    from slmbench.report.data import load_study
    from slmbench.report.mixed import pooled_level_effects
    from slmbench.report.stats import analysis_rows

    runs, scores, _r, score_rows = write_planted_study(tmp_path)
    study = load_study(runs, scores, {"levels": LEVELS, "bootstrap_samples": 200})
    frame = analysis_rows(study.runs)
    pooled = pooled_level_effects(frame, LEVELS, declared_contrasts(LEVELS), 0.05, 0.95, 0.5).set_index("contrast")
    scores_frame = pd.DataFrame(score_rows)
    assert pooled["family_size"].iloc[0] == 6 and pooled["models"].iloc[0] == len(MODELS)
    for name, level, reference in declared_contrasts(LEVELS):
        by_model = [scores_frame[scores_frame["model_id"] == m].pivot(index="question_id", columns="level",
                                                                      values="total_score") for m in MODELS]
        expected = np.mean([(m[level] - m[reference]).mean() for m in by_model])
        assert pooled.loc[name, "estimate"] == pytest.approx(expected, abs=1e-4)
        assert pooled.loc[name, "ci_low"] < pooled.loc[name, "estimate"] < pooled.loc[name, "ci_high"]
    # the planted "gains" model (+2 at L3) lifts the pooled L3 vs L0 by 2/3 of a point: found
    assert pooled.loc["L3 vs L0", "equivalence"] == "better"
    assert pooled.loc["L3 vs L0", "questions"] == QUESTIONS


def test_status_before_the_first_shard_prints_the_plan_line(tmp_path, monkeypatch, capsys):
    import study_files as sf

    monkeypatch.chdir(tmp_path)
    config = sf.write_config(tmp_path)
    sf.write_prompts(tmp_path)
    assert main(["status", "--configfile", str(config)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("power: ")]
    assert len(lines) == 1 and "MDE at 80 %" in lines[0] and "Holm over" in lines[0]
