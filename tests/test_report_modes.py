"""The reports of a synthetic study in two power modes with known differences (7W: latency x 1.5, energy x 0.6,
the same answers except on a few prompts): the mode sheets, Q4 naming the mode, the figure, checked against a
direct pandas/scipy computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slmbench.layout import PLOTS
from slmbench.records import write_jsonl
from slmbench.report.build import build_reports
from slmbench.report.synthetic import synthetic_records
from slmbench.scores import write_score_rows
from test_report_helpers import LEVELS, sheet_rows

pytestmark = pytest.mark.slow  # whole reports

MODES = {0: "MAXN", 2: "7W"}
CHANGED = {81, 82}  # questions whose answer differs in 7W (the rest: the same text in both modes)
LATENCY, ENERGY = 1.5, 0.6  # 7W relative to MAXN


def two_mode_rows():
    runs, scores = synthetic_records(["rising", "flat"], ["rising", "flat"], LEVELS, ["math", "coding"], 8, True,
                                     np.random.default_rng(11), lambda m, lv, q: f"{m} answers {q} at {lv}")
    all_runs, all_scores = [], []
    for mode, name in MODES.items():
        for run, score in zip(runs, scores):
            run = {**run, "power_mode_id": mode, "power_mode": f"{name} (nvpmodel {mode}); clocks max"}
            score = {**score, "power_mode_id": mode}
            if mode == 2:
                run["latency_ms"] *= LATENCY
                run["energy_j"] *= ENERGY
                if run["question_id"] in CHANGED:
                    run["output"] += " (7W)"
                    score["factuality"] = max(0.0, score["factuality"] - 0.5)
                    score["total_score"] = sum(score[d] for d in ("factuality", "helpfulness", "structure",
                                                                  "conciseness"))
            all_runs.append(run)
            all_scores.append(score)
    return all_runs, all_scores


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("modes")
    runs, scores = two_mode_rows()
    write_jsonl(tmp / "runs.jsonl", runs)
    write_score_rows(scores, tmp / "scores.csv")
    build_reports(tmp / "runs.jsonl", tmp / "scores.csv", tmp / "out", {"levels": LEVELS, "bootstrap_samples": 500})
    return tmp / "out", pd.DataFrame(runs), pd.DataFrame(scores)


def test_comparison_by_mode_equals_a_direct_computation(built):
    out, runs, scores = built
    direct = runs.merge(scores[["model_id", "level", "question_id", "power_mode_id", "total_score"]],
                        on=["model_id", "level", "question_id", "power_mode_id"])
    direct["mode"] = direct["power_mode_id"].map(MODES)
    means = direct.groupby(["model_id", "level", "mode"]).agg(
        quality=("total_score", "mean"), latency=("latency_ms", "mean"), energy=("energy_j", "mean"),
        tokens=("completion_tokens", "mean"), n=("question_id", "nunique"))
    rows = sheet_rows(out / "model_comparison.xlsx", "comparison_by_mode")
    assert len(rows) == 2 * len(LEVELS) * 2
    for row in rows:
        want = means.loc[(row["model"], row["level"], row["power mode"])]
        assert row["quality (0-10)"] == pytest.approx(want["quality"], abs=0.005)
        assert row["energy J"] == pytest.approx(want["energy"], abs=0.0005)
        assert row["latency ms"] == pytest.approx(want["latency"], abs=0.5)
        assert row["output tokens per J (net energy of the answer)"] == pytest.approx(
            want["tokens"] / want["energy"], abs=0.005)
        assert row["n (questions behind every mean)"] == want["n"] == 16
        assert row["quality (0-10) CI low"] <= row["quality (0-10)"] <= row["quality (0-10) CI high"]


def test_mode_contrasts_recover_the_known_ratios_with_holm(built):
    from statsmodels.stats.multitest import multipletests

    out, runs, _ = built
    rows = sheet_rows(out / "model_comparison.xlsx", "contrasts_by_mode")
    assert {(r["power mode"], r["vs mode"]) for r in rows} == {("7W", "MAXN")}  # vs the lowest nvpmodel id
    assert len(rows) == 2 * len(LEVELS) * 2  # models x levels x (latency, energy)
    maxn = runs[runs["power_mode_id"] == 0].set_index(["model_id", "level", "question_id"]).sort_index()
    for row in rows:
        own = maxn.xs((row["model"], row["level"]))
        column = "latency_ms" if row["metric"] == "latency_ms" else "energy_j"
        factor = LATENCY if column == "latency_ms" else ENERGY
        assert row["mean difference"] == pytest.approx(((factor - 1) * own[column]).mean(), rel=1e-3)
        assert row["CI low"] <= row["mean difference"] <= row["CI high"]
        assert row["significant"] == "yes" and row["p (sign-flip permutation)"] < 0.001
    holm = multipletests([r["p (sign-flip permutation)"] for r in rows], method="holm")[1]
    assert [r["p (Holm)"] for r in rows] == pytest.approx(list(holm))


def test_the_front_is_over_model_level_and_mode_and_q4_names_the_mode(built):
    out, _, _ = built
    rows = [r for r in sheet_rows(out / "model_comparison.xlsx", "pareto_by_mode") if r["cost"] == "energy_j"]
    assert len(rows) == 2 * len(LEVELS) * 2
    for row in rows:  # brute force: on the front iff no configuration is at least as good on both and better on one
        beaten = any(o["quality (0-10)"] >= row["quality (0-10)"] and o["cost (J or ms)"] <= row["cost (J or ms)"]
                     and (o["quality (0-10)"] > row["quality (0-10)"] or o["cost (J or ms)"] < row["cost (J or ms)"])
                     for o in rows)
        assert row["on the front"] == ("no" if beaten else "yes")
        assert 0 <= row["share of resamples on the front"] <= 1
    # 7W costs 0.6 of the energy: a MAXN configuration is on the front only where its 7W twin scored lower
    twin = {(r["model"], r["level"]): r for r in rows if r["power mode"] == "7W"}
    for row in rows:
        if row["power mode"] == "MAXN" and row["on the front"] == "yes":
            assert twin[(row["model"], row["level"])]["quality (0-10)"] < row["quality (0-10)"]
    assert any(r["on the front"] == "yes" for r in twin.values())
    findings = [r for r in sheet_rows(out / "model_comparison.xlsx", "findings") if r["question"] == "Q4"]
    across = [r for r in findings if "Across the power modes (MAXN, 7W)" in r["answer"]]
    assert len(across) == 1 and " in 7W: quality " in across[0]["answer"]
    summary = (out / "summary.md").read_text()
    assert "Across the power modes (MAXN, 7W)" in summary


def test_identical_answers_are_counted_per_model_and_in_the_summary(built):
    out, runs, _ = built
    rows = {r["model"]: r for r in sheet_rows(out / "model_comparison.xlsx", "identical_answers")}
    prompts = len(LEVELS) * 16  # per model: levels x questions
    for model in ("rising", "flat"):
        assert rows[model]["prompts measured in several modes"] == prompts
        assert rows[model]["the same answer in every mode"] == prompts - len(LEVELS) * len(CHANGED)
    everyone = rows["(all models)"]
    assert everyone["share identical"] == pytest.approx(1 - len(CHANGED) / 16)
    assert everyone["distinct answers (verdicts asked)"] == runs.drop_duplicates(["question_id", "output"]).shape[0]
    assert f"Identical answers across the power modes: {everyone['the same answer in every mode']} of " \
           f"{2 * prompts} prompts (88%)" in (out / "summary.md").read_text()


def test_the_mixed_model_finds_the_mode_effect_on_latency_and_energy(built):
    out, _, _ = built
    rows = {(r["metric"], r["test"]): r for r in sheet_rows(out / "model_comparison.xlsx", "mixed_model_mode")}
    for metric in ("latency_ms", "energy_j"):
        overall = rows[(metric, "mode (overall)")]
        assert overall["p"] < 1e-6 and overall["df"] == 2  # mode and mode x model, two models
        assert "C(mode)" in overall["model"] and (metric, "mode x level") in rows


def test_the_mode_figure_is_written_and_listed(built):
    out, _, _ = built
    assert "power_modes_by_model" in PLOTS
    png = out / "plots/power_modes_by_model.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / "plots/power_modes_by_model.pdf").exists()


def test_a_one_mode_study_has_no_mode_sheets_and_still_the_figure(tmp_path):
    import openpyxl

    from slmbench.report.synthetic import write_synthetic_study

    runs, scores, _, _ = write_synthetic_study(tmp_path / "in", per_category=3, categories=("math", "coding"))
    build_reports(runs, scores, tmp_path / "out", {"levels": LEVELS, "bootstrap_samples": 200})
    names = openpyxl.load_workbook(tmp_path / "out/model_comparison.xlsx", read_only=True).sheetnames
    assert not [n for n in names if n.endswith("_mode") or "by_mode" in n or n == "identical_answers"]
    assert (tmp_path / "out/plots/power_modes_by_model.png").exists()
    assert "power modes" not in (tmp_path / "out/summary.md").read_text()
