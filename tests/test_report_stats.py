"""Issue 18's statistics on a study with planted effects (tests/planted_study.py), each checked against an
independent numpy/scipy computation: the declared contrasts with the sign-flip test and Holm over the whole
family, the mixed model, Pareto-first trade-offs and Q4's rule, honest row sets."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from planted_study import LEVELS, MODELS, PLANTED_L3, QUESTIONS, planted_rows, write_planted_study

from slmbench.report.analysis import analyze
from slmbench.report.build import build_reports
from slmbench.report.data import DIMENSIONS, load_study
from test_report_helpers import sheet_rows

SETTINGS = {"levels": LEVELS, "bootstrap_samples": 1000, "seed": 5}
CONTRAST_COLUMNS = ["model", "contrast", "metric", "estimate", "ci_low", "ci_high", "p_raw", "p_adj",
                    "family_size", "n"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("planted")
    runs, scores, run_rows, score_rows = write_planted_study(tmp / "in")
    build_reports(runs, scores, tmp / "out", SETTINGS, only=["workbooks", "summary"])
    analysis = analyze(load_study(runs, scores, SETTINGS))
    frame = pd.DataFrame(score_rows)
    return {"runs": runs, "scores": scores, "out": tmp / "out", "analysis": analysis, "frame": frame,
            "run_rows": run_rows, "score_rows": score_rows}


def quality_matrix(frame: pd.DataFrame, model: str, metric: str = "total_score") -> pd.DataFrame:
    return frame[frame["model_id"] == model].pivot(index="question_id", columns="level", values=metric)


def exact_sign_flip_p(diff: np.ndarray) -> float:
    """Every one of the 2^n sign patterns: share with |mean| at least the observed (two-sided)."""
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=diff.size)))
    means = (signs * diff).mean(axis=1)
    observed = abs(diff.mean())
    return float(np.mean(np.abs(means) >= observed - 1e-12))


def holm_by_hand(p: list[float]) -> list[float]:
    order = np.argsort(p)
    adjusted, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def test_contrasts_sheet_has_the_declared_family_with_its_size(planted):
    rows = sheet_rows(planted["out"] / "model_comparison.xlsx", "contrasts")
    assert list(rows[0])[:10] == CONTRAST_COLUMNS
    quality = [r for r in rows if r["metric"] == "quality"]
    # the successive contrasts belong to the family: the levels are cumulative (3 models x 6 contrasts)
    assert sorted({r["contrast"] for r in quality}) == ["L1 vs L0", "L2 vs L0", "L2 vs L1", "L3 vs L0", "L3 vs L2",
                                                        "P vs L3"]
    assert len(quality) == 18 and all(r["family_size"] == 18 for r in quality)
    assert all(r["equivalence"] in ("better", "worse", "equivalent within ±0.5", "inconclusive") for r in quality)
    assert all(r["mde"] > 0 for r in quality)
    assert all(r["p_adj"] >= r["p_raw"] for r in quality)
    assert all(r["n"] == QUESTIONS for r in rows)
    # the four dimensions get the same contrasts, intervals and correction
    for dim in DIMENSIONS:
        own = [r for r in rows if r["metric"] == dim]
        assert len(own) == 18 and all(r["family_size"] == 18 and r["ci_low"] <= r["estimate"] <= r["ci_high"]
                                      for r in own)


def test_estimates_p_values_and_holm_equal_an_independent_computation(planted):
    table = planted["analysis"].contrasts
    quality = table[table["metric"] == "quality"]
    for r in quality.itertuples():
        m = quality_matrix(planted["frame"], r.model)
        diff = (m[r.level] - m[r.reference]).to_numpy()
        assert r.estimate == pytest.approx(diff.mean(), rel=1e-12)
        # 10,000 seeded sign flips against all 65,536 sign patterns
        assert r.p_raw == pytest.approx(exact_sign_flip_p(diff), abs=0.01)
        assert r.effect_dz == pytest.approx(diff.mean() / diff.std(ddof=1), rel=1e-9)
    assert quality["p_adj"].tolist() == pytest.approx(holm_by_hand(quality["p_raw"].tolist()), rel=1e-12)


def test_the_ci_of_a_planted_effect_covers_it_and_has_the_expected_width(planted):
    table = planted["analysis"].contrasts.set_index(["model", "contrast", "metric"])
    row = table.loc[("gains", "L3 vs L0", "quality")]
    assert row["ci_low"] < PLANTED_L3 < row["ci_high"]
    assert row["p_adj"] < 0.01
    diff = (quality_matrix(planted["frame"], "gains")["L3"] - quality_matrix(planted["frame"], "gains")["L0"])
    half = 1.96 * diff.std(ddof=1) / np.sqrt(QUESTIONS)
    assert (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(half, rel=0.3)
    padding = table.loc[("gains", "P vs L3", "quality")]
    assert padding["ci_low"] < -1.0 < padding["ci_high"] and padding["p_adj"] < 0.05
    for contrast in ("L1 vs L0", "L2 vs L0", "L3 vs L0", "P vs L3"):
        flat = table.loc[("flat", contrast, "quality")]
        assert flat["ci_low"] < 0 < flat["ci_high"] and flat["p_adj"] > 0.05


def test_mixed_model_finds_the_level_effect_and_the_interaction(planted):
    mixed = planted["analysis"].mixed.set_index(["metric", "test"])
    overall = mixed.loc[("quality", "level (overall)")]
    interaction = mixed.loc[("quality", "level x model")]
    assert overall["p"] < 1e-6 and interaction["p"] < 1e-3
    assert overall["df"] == 12 and interaction["df"] == 8  # 4 level terms x 3 models; 4 x 2 interaction terms
    assert overall["n"] == len(MODELS) * len(LEVELS) * QUESTIONS and overall["questions"] == QUESTIONS
    assert overall["converged"]
    # question SD near the planted difficulty spread (1.0), residual near the noise (0.4)
    assert 0.5 < overall["question_sd"] < 1.6 and 0.25 < overall["residual_sd"] < 0.6
    sheet = sheet_rows(planted["out"] / "model_comparison.xlsx", "mixed_model")
    assert {(r["metric"], r["test"]) for r in sheet} >= {("quality", "level (overall)"), ("quality", "level x model")}


def test_mixed_model_likelihood_ratio_equals_an_independent_fit(planted):
    """The same LR statistic from statsmodels' formula API fitted here with its own arguments."""
    import statsmodels.formula.api as smf
    from scipy.stats import chi2

    frame = planted["frame"].rename(columns={"total_score": "y"})
    frame["q"] = frame["question_id"].astype(str)
    full = smf.mixedlm("y ~ C(level) * C(model_id)", frame, groups=frame["q"]).fit(reml=False)
    null = smf.mixedlm("y ~ C(model_id)", frame, groups=frame["q"]).fit(reml=False)
    stat = 2 * (full.llf - null.llf)
    row = planted["analysis"].mixed.set_index(["metric", "test"]).loc[("quality", "level (overall)")]
    assert row["chi2"] == pytest.approx(stat, rel=1e-3)
    assert row["p"] == pytest.approx(chi2.sf(stat, 12), rel=1e-2, abs=1e-12)


def test_pareto_sheet_gives_each_models_front_with_bootstrap_shares(planted):
    rows = sheet_rows(planted["out"] / "model_comparison.xlsx", "pareto")
    frame = planted["frame"].merge(pd.DataFrame(planted["run_rows"]), on=["model_id", "level", "question_id"])
    for model in MODELS:
        means = frame[frame["model_id"] == model].groupby("level")[["total_score", "energy_j"]].mean()
        expected = {lvl for lvl in LEVELS if not any(
            (means.loc[o, "energy_j"] <= means.loc[lvl, "energy_j"]) and (means.loc[o, "total_score"] >= means.loc[
                lvl, "total_score"]) and o != lvl for o in LEVELS)}
        own = [r for r in rows if r["model"] == model and r["cost"] == "energy_j"]
        assert {r["level"] for r in own if r["on the front"] == "yes"} == expected
        assert all(0 <= r["share of resamples on the front"] <= 1 and r["n"] == QUESTIONS for r in own)
        # L0 is the cheapest level of every model: always on its front
        assert next(r for r in own if r["level"] == "L0")["share of resamples on the front"] == 1
    assert {r["cost"] for r in rows} == {"energy_j", "latency_ms"}


def test_marginal_costs_are_always_given_and_equal_a_direct_computation(planted):
    marginal = planted["analysis"].marginal.set_index(["model", "level"])
    frame = planted["frame"].merge(pd.DataFrame(planted["run_rows"]), on=["model_id", "level", "question_id"])
    for model in MODELS:
        own = frame[frame["model_id"] == model].pivot(index="question_id", columns="level")
        for level in LEVELS[1:]:
            gain = (own["total_score"][level] - own["total_score"]["L0"]).mean()
            extra = (own["energy_j"][level] - own["energy_j"]["L0"]).mean()
            row = marginal.loc[(model, level)]
            assert row["quality_gain"] == pytest.approx(gain, rel=1e-12)
            assert row["joules_per_point"] == pytest.approx(extra / gain, rel=1e-9)
    gains = marginal.loc[("gains", "L3")]
    assert gains["joules_per_point_low"] < gains["joules_per_point"] < gains["joules_per_point_high"]
    assert np.isnan(marginal.loc[("flat", "L2"), "joules_per_point_low"])  # gain CI includes 0: no bound
    summary = (planted["out"] / "summary.md").read_text(encoding="utf-8")
    for model in MODELS:  # always printed, significant or not
        assert f"{model} L2 vs L0 (n = {QUESTIONS}): latency" in summary
    assert "Per extra quality point:" in summary


def test_q4_recommends_within_the_margin_of_the_best(planted):
    analysis = planted["analysis"]
    rec = analysis.recommendation
    summary = analysis.summary
    best = summary["quality"].max()
    assert rec["pick"]["quality"] >= best - 0.5
    assert rec["pick"]["pareto"] is True
    cheaper_within = summary[(summary["quality"] >= best - 0.5) & (summary["energy_j"] < rec["pick"]["energy_j"])]
    assert cheaper_within.empty  # nothing cheaper qualifies
    text = (planted["out"] / "summary.md").read_text(encoding="utf-8")
    assert "within 0.5 points (report.quality_margin) of the best" in text
    assert f"Recommended: {rec['pick']['model']} at {rec['pick']['level']}" in text


def test_q4_margin_is_a_setting_and_a_wide_margin_picks_the_cheap_model(planted, tmp_path):
    analysis = analyze(load_study(planted["runs"], planted["scores"], {**SETTINGS, "quality_margin": 5.0}))
    assert analysis.recommendation["pick"]["model"] == "cheap"
    assert analysis.recommendation["pick"]["level"] == "L0"


def test_ratios_are_labelled_as_ratios(planted):
    text = (planted["out"] / "summary.md").read_text(encoding="utf-8")
    assert "highest ratio quality per joule" in text and "ranks cost more than value" in text
    header = sheet_rows(planted["out"] / "model_comparison.xlsx", "comparison")[0]
    assert "quality per J (ratio)" in header and "n (runs behind every mean)" in header


def test_minimum_detectable_effect_matches_a_normal_approximation(planted):
    from scipy.stats import norm

    mde = planted["analysis"].mde
    assert mde["family_size"] == 18 and mde["n"] == QUESTIONS
    from statsmodels.stats.power import TTestPower

    z = norm.ppf(1 - 0.05 / 18 / 2) + norm.ppf(0.8)
    t = TTestPower().solve_power(nobs=QUESTIONS, alpha=0.05 / 18, power=0.8)
    # the sign-flip test's answer (simulated) is larger than the paired t-test's, itself larger than the normal
    # one at n = 16: the permutation null widens with the mean (benchmarks/plan_power.py checks it gives 80 %)
    assert z / np.sqrt(QUESTIONS) < t < mde["dz"] < 1.25 * t
    assert "Minimum detectable effect" in (planted["out"] / "summary.md").read_text(encoding="utf-8")


def test_within_question_length_control_equals_a_formula_fit(planted):
    import statsmodels.formula.api as smf

    frame = planted["frame"].merge(pd.DataFrame(planted["run_rows"]), on=["model_id", "level", "question_id"])
    own = frame[frame["model_id"] == "gains"].assign(length=lambda d: d["completion_tokens"] / 100)
    fit = smf.ols("total_score ~ C(level) + C(question_id) + length", own).fit(
        cov_type="cluster", cov_kwds={"groups": own["question_id"]})
    tests = planted["analysis"].tests.set_index(["model", "contrast"])
    row = tests.loc[("gains", "L3 vs L0")]
    assert row["adjusted_diff"] == pytest.approx(fit.params["C(level)[T.L3]"], rel=1e-9)
    padding = tests.loc[("gains", "P vs L3")]
    assert padding["adjusted_diff"] == pytest.approx(
        fit.params["C(level)[T.P]"] - fit.params["C(level)[T.L3]"], rel=1e-9)


def test_judge_length_check_is_within_model(planted):
    model_tests = planted["analysis"].model_tests
    assert "(all models)" not in set(model_tests["model"]) and "(within models)" in set(model_tests["model"])


def test_a_total_that_disagrees_with_its_dimensions_is_not_averaged(tmp_path):
    runs, scores = planted_rows()
    bad = next(s for s in scores if (s["model_id"], s["level"], s["question_id"]) == ("flat", "L1", 101))
    bad["total_score"] = 10.0  # edited by hand: not the sum of its dimensions
    runs_path, scores_path, _, _ = write_planted_study(tmp_path / "in", runs, scores)
    build_reports(runs_path, scores_path, tmp_path / "out", SETTINGS, only=["workbooks"])
    expected = np.mean([s["total_score"] for s in scores if s["model_id"] == "flat" and s["level"] == "L1"
                        and s["question_id"] != 101])
    row = next(r for r in sheet_rows(tmp_path / "out/model_comparison.xlsx", "comparison")
               if (r["model"], r["level"]) == ("flat", "L1"))
    assert row["quality (0-10)"] == pytest.approx(expected, rel=1e-12)
    assert row["n (runs behind every mean)"] == QUESTIONS - 1
    quality = next(r for r in sheet_rows(tmp_path / "out/model_comparison.xlsx", "data_quality")
                   if (r["model"], r["level"]) == ("flat", "L1"))
    assert quality["total not the sum of dimensions"] == 1
    contrast = next(r for r in sheet_rows(tmp_path / "out/model_comparison.xlsx", "contrasts")
                    if (r["model"], r["contrast"], r["metric"]) == ("flat", "L1 vs L0", "quality"))
    assert contrast["n"] == QUESTIONS - 1


def test_one_row_set_latency_and_energy_use_the_scored_runs(tmp_path):
    runs, scores = planted_rows()
    for s in scores:
        if s["model_id"] == "gains" and s["level"] == "L0" and s["question_id"] <= 104:
            s.update(factuality=None, helpfulness=None, structure=None, conciseness=None, total_score=None,
                     judge_status="parse_error")
    runs_path, scores_path, _, _ = write_planted_study(tmp_path / "in", runs, scores)
    analysis = analyze(load_study(runs_path, scores_path, SETTINGS))
    row = analysis.summary.set_index(["model", "level"]).loc[("gains", "L0")]
    kept = [r for r in runs if r["model_id"] == "gains" and r["level"] == "L0" and r["question_id"] > 104]
    assert row["n"] == len(kept) == QUESTIONS - 4
    assert row["energy_j"] == pytest.approx(np.mean([r["energy_j"] for r in kept]), rel=1e-12)
    assert row["latency_ms"] == pytest.approx(np.mean([r["latency_ms"] for r in kept]), rel=1e-12)


def test_truncated_answers_get_a_sensitivity_analysis(tmp_path):
    runs, scores = planted_rows()
    for r in runs:
        if r["model_id"] == "gains" and r["level"] == "L3" and r["question_id"] <= 103:
            r["finish_reason"] = "length"
    runs_path, scores_path, _, _ = write_planted_study(tmp_path / "in", runs, scores)
    build_reports(runs_path, scores_path, tmp_path / "out", SETTINGS, only=["workbooks", "summary"])
    rows = sheet_rows(tmp_path / "out/model_comparison.xlsx", "sensitivity")
    row = next(r for r in rows if (r["model"], r["contrast"]) == ("gains", "L3 vs L0"))
    assert row["truncated runs (finish_reason length)"] == 3
    assert row["n"] == QUESTIONS and row["n without"] == QUESTIONS - 3
    frame = pd.DataFrame(scores)
    m = quality_matrix(frame, "gains").loc[104:]
    assert row["difference without truncated"] == pytest.approx((m["L3"] - m["L0"]).mean(), rel=1e-12)
    assert "without answers cut at max_tokens (3 truncated runs)" in (tmp_path / "out/summary.md").read_text()


def test_sign_flip_test_is_exact_for_small_n_and_agrees_with_scipy_for_larger():
    from scipy.stats import permutation_test

    from slmbench.report.contrasts import sign_flip_test

    rng = np.random.default_rng(3)
    small = rng.normal(0.5, 1.0, 10)
    assert sign_flip_test(small, rng) == pytest.approx(exact_sign_flip_p(small), rel=1e-12)
    larger = rng.normal(0.3, 1.0, 30)
    scipy_p = permutation_test((larger,), lambda x, axis=-1: np.mean(x, axis=axis), permutation_type="samples",
                               vectorized=True, n_resamples=20_000, random_state=1).pvalue
    assert sign_flip_test(larger, np.random.default_rng(2)) == pytest.approx(scipy_p, abs=0.015)
    assert sign_flip_test(np.zeros(5), rng) == 1.0 and np.isnan(sign_flip_test(np.array([1.0]), rng))


def test_mixed_model_adds_a_variant_effect_when_runs_carry_variants(planted):
    """Prompt variants nested in questions: (1 | question:variant) joins the model (statsmodels vc_formula)."""
    from slmbench.report.mixed import mixed_model_tests
    from slmbench.report.stats import analysis_rows

    frame = analysis_rows(planted["analysis"].study.runs)
    level_index = frame["level"].map({lvl: i for i, lvl in enumerate(LEVELS)})
    frame["variant"] = np.where((frame["question_id"] + level_index) % 2 == 0, "a", "b")
    table = mixed_model_tests(frame, LEVELS, metrics=["quality"]).set_index("test")
    assert table.loc["level (overall)", "formula"].endswith("+ (1 | question) + (1 | question:variant)")
    assert table.loc["level (overall)", "p"] < 1e-6
    plain = planted["analysis"].mixed.set_index(["metric", "test"]).loc[("quality", "level (overall)")]
    assert "variant" not in plain["formula"]
