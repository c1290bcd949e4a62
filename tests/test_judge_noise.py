"""Judge noise (issue 16, item 4): judge.repeat_fraction's seeded, stratified draw; ICC(2,1) against a
hand-worked example; the repeat agreement in a workbook sheet; intervals that carry the repeats' spread."""

from __future__ import annotations

import csv

import numpy as np
import openpyxl
import pytest

from openai_stub_server import StubServer
from slmbench.judge.agreement import agreement, icc_2_1
from slmbench.judge.runner import judge_records, repeat_sample


def test_icc_2_1_matches_shrout_and_fleiss_worked_example():
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges. Their ANOVA: BMS 11.24, JMS 32.49, EMS 1.02, so
    # ICC(2,1) = (11.24 - 1.02) / (11.24 + 3 x 1.02 + 4 x (32.49 - 1.02) / 6) = 10.22 / 35.28 = 0.29
    ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    assert icc_2_1(ratings) == pytest.approx(10.2222 / 35.2778, abs=5e-4)
    # two raters by hand: rows (1, 2), (3, 3), (5, 6): grand 10/3; MSR = 2 x sum((1.5, 3, 5.5) - 10/3)^2 / 2 = 8.1667,
    # MSC = 3 x ((3 - 10/3)^2 + (11/3 - 10/3)^2) / 1 = 0.6667, MSE = (SST 17.3333 - 16.3333 - 0.6667) / 2 = 0.1667
    expected = (8.1667 - 0.1667) / (8.1667 + 0.1667 + 2 * (0.6667 - 0.1667) / 3)
    assert icc_2_1(np.array([[1, 2], [3, 3], [5, 6]])) == pytest.approx(expected, abs=1e-3)
    assert icc_2_1(np.array([[4, 4], [4, 4]])) == 1.0 and np.isnan(icc_2_1(np.array([[1, 2]])))


def records(models=("a", "b"), levels=("L0", "L1"), n=10) -> list[dict]:
    return [{"question_id": q, "category": "math" if q % 2 else "stem", "model_id": m, "level": lvl, "status": "ok",
             "output": f"{m} {lvl} {q}", "error": None} for m in models for lvl in levels for q in range(n)]


def test_the_repeat_draw_is_seeded_and_stratified_by_model_and_level():
    recs = records()
    drawn = repeat_sample(recs, 0.2)
    assert drawn == repeat_sample(list(reversed(recs)), 0.2)  # the same answers whatever the order
    for m in ("a", "b"):
        for lvl in ("L0", "L1"):  # 5 per (model, level, category): round(0.2 x 5) = 1 each, 2 per (model, level)
            assert sum(1 for key in drawn if key[:2] == (m, lvl)) == 2
    assert repeat_sample(recs, 0) == set()
    one_shard = [r for r in recs if r["model_id"] == "a" and r["level"] == "L0" and r["category"] == "math"]
    assert repeat_sample(one_shard, 0.2) == {k for k in drawn if k[:2] == ("a", "L0") and k[2] % 2}


def test_repeat_fraction_judges_the_drawn_answers_twice_and_agreement_has_icc(tmp_path, clean_env):
    recs = records(models=("a",), levels=("L0",), n=10)
    settings = {"backend": "openai", "model": "j", "base_url": None, "api_key_env": "NONE", "temperature": 0,
                "max_tokens": 64, "timeout_s": 10, "max_retries": 0, "cache": str(tmp_path / "c.sqlite"),
                "concurrency": 2, "repeats": 1, "repeat_fraction": 0.4, "sleep_s": 0}
    with StubServer() as server:
        rows = judge_records(recs, {q: f"q{q}" for q in range(10)}, {}, {**settings, "base_url": server.base_url})
        assert len(server.bodies) == 14  # 10 answers, 2 of 5 per category again
    assert sorted(r["repeat"] for r in rows).count(1) == 4
    icc = [r for r in agreement(rows) if r["measure"] == "icc_2_1_repeats" and r["score"] == "total_score"]
    assert icc and icc[0]["n_answers"] == 4  # the stub gives the same verdict twice: every value equal
    assert icc[0]["value"] == 1.0


def repeated_scores(scores_path, spread: float) -> None:
    """Give every L1 run of each model a second verdict `spread` points per dimension away (alternating sign)."""
    with open(scores_path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for i, row in enumerate(rows):
        out.append({**row, "repeat": 0})
        if row["level"] == "L1":
            dims = {d: min(2.5, max(0.0, float(row[d]) + (spread if i % 2 else -spread)))
                    for d in ("factuality", "helpfulness", "structure", "conciseness")}
            out.append({**row, **dims, "total_score": sum(dims.values()), "repeat": 1})
    from slmbench.scores import write_score_rows

    write_score_rows(out, scores_path)


def test_the_intervals_carry_judge_noise_and_the_workbook_has_the_agreement_sheet(tmp_path):
    from slmbench.report.analysis import load_analysis
    from slmbench.report.data import read_verdicts
    from slmbench.report.synthetic import write_synthetic_study
    from slmbench.report.workbooks import write_workbooks

    widths = {}
    for spread in (0.0, 1.0):
        runs, scores, _, _ = write_synthetic_study(tmp_path / str(spread), per_category=3)
        repeated_scores(scores, spread)
        analysis = load_analysis(runs, scores, {"bootstrap_samples": 400})
        summary = analysis.summary.set_index(["model", "level"])
        verdicts = read_verdicts(scores)
        means = verdicts[verdicts["level"] == "L1"].groupby(["model_id", "question_id"])["total_score"].mean()
        for model in analysis.study.models:  # the point estimate is the mean of a run's verdicts
            assert summary.at[(model, "L1"), "quality"] == pytest.approx(means[model].mean())
        widths[spread] = {lvl: float((summary["quality_high"] - summary["quality_low"]).xs(lvl, level="level").sum())
                          for lvl in ("L0", "L1")}
        if spread:
            paths = write_workbooks(analysis, tmp_path / "books")
    assert widths[1.0]["L0"] == pytest.approx(widths[0.0]["L0"])  # no repeats at L0: the same interval
    assert widths[1.0]["L1"] > widths[0.0]["L1"]  # repeats that disagree widen it
    book = openpyxl.load_workbook(next(p for p in paths if p.name == "model_comparison.xlsx"), read_only=True)
    sheet = [row for row in book["judge_agreement"].values]
    assert sheet[0][:3] == ("measure", "score", "judge")
    measures = {(r[0], r[1]) for r in sheet[1:]}
    assert ("icc_2_1_repeats", "total_score") in measures and ("krippendorff_alpha_repeats", "total_score") in measures
