"""Correctness as an outcome beside the 0-10 total (report/correctness.py), on studies with known truth
(tests/known_truth.py): the sheet's Wilson bounds and McNemar tests against independent computations, the
summary's agreement lines, and no sheet where no answer was graded against a reference."""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from known_truth import Truth, analysed_study
from slmbench.report.summary import render_summary
from test_report_helpers import sheet_rows

LEVELS = ["L0", "L1", "L2", "L3", "P"]
# m1: correctness rises at L3, and so does the total; m2: the total rises at L3, correctness does not;
# m3: the total rises at L3 while correctness falls
TRUTH = Truth(per_category=10, effects={"m1": (0, 0, 0, 2, 2), "m2": (0, 0, 0, 2, 2), "m3": (0, 0, 0, 2, 2)},
              correct={"m1": (0.2, 0.2, 0.2, 0.95, 0.95), "m2": (0.5,) * 5, "m3": (0.95, 0.95, 0.95, 0.1, 0.1)})


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("graded")
    analysis, book, scores = analysed_study(tmp, TRUTH, 3, LEVELS, 500)
    return {"analysis": analysis, "book": book, "scores": scores, "summary": render_summary(analysis)}


def wilson(k: float, n: int, confidence: float = 0.95):
    """Wilson's score interval, written out (independent of statsmodels)."""
    z = norm.ppf((1 + confidence) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_the_correctness_sheet_has_wilson_bounds_of_the_graded_answers(graded):
    scores = pd.read_csv(graded["scores"])
    with_reference = scores[scores["reference_match"].notna()]
    expected = with_reference.groupby(["model_id", "level"])["reference_match"].agg(["sum", "count"])
    rows = sheet_rows(graded["book"], "correctness")
    assert len(rows) == len(expected) == 15
    for row in rows:
        k, n = expected.loc[(row["model"], row["level"])]
        low, high = wilson(float(k), int(n))
        assert row["n (answers with a reference)"] == n == 30  # 3 graded categories x 10 questions
        assert row["correctness (share)"] == pytest.approx(k / n, rel=1e-12)
        assert row["Wilson CI low"] == pytest.approx(low, rel=1e-9)
        assert row["Wilson CI high"] == pytest.approx(high, rel=1e-9)


def contrast_rows(book) -> list[dict]:
    """The second table of the correctness sheet: the paired contrasts."""
    values = list(openpyxl.load_workbook(book, read_only=True)["correctness"].values)
    start = next(i for i, row in enumerate(values) if row[1] == "contrast")
    header = values[start]
    return [dict(zip(header, row)) for row in values[start + 1:] if any(v is not None for v in row)]


def test_contrasts_are_exact_mcnemar_tests_with_holm(graded):
    scores = pd.read_csv(graded["scores"])
    graded_rows = scores[scores["reference_match"].notna()]
    table = graded_rows.pivot_table(index=["model_id", "question_id"], columns="level", values="reference_match")
    rows = {(r["model"], r["contrast"]): r for r in contrast_rows(graded["book"])}
    # the declared family with the successive contrasts: 3 models x 6 (levels are cumulative)
    assert len(rows) == 18 and all(r["family size"] == 18 for r in rows.values())
    own = table.loc["m1"]
    better, worse = int(((own["L3"] == 1) & (own["L0"] == 0)).sum()), int(((own["L3"] == 0) & (own["L0"] == 1)).sum())
    row = rows[("m1", "L3 vs L0")]
    assert row["test"] == "McNemar exact"
    assert row["p"] == pytest.approx(binomtest(better, better + worse, 0.5).pvalue, rel=1e-9)
    assert row["difference (share)"] == pytest.approx((own["L3"] - own["L0"]).mean(), rel=1e-12)
    assert row["result"] == "better" and row["CI low"] > 0
    assert rows[("m3", "L3 vs L0")]["result"] == "worse"
    assert all(r["p (Holm)"] >= r["p"] for r in rows.values())


def test_the_summary_answers_q1_for_correctness_and_says_where_it_disagrees(graded):
    text = graded["summary"]
    q1 = text.split("## Q1.")[1].split("## Q2.")[0]
    line = next(x for x in q1.splitlines() if x.startswith("- Correctness") and "m1 L3 vs L0" in x)
    assert "better" in line and "The 0-10 total agrees (better)." in line
    line = next(x for x in q1.splitlines() if x.startswith("- Correctness") and "m3 L3 vs L0" in x)
    assert "worse" in line and "The two disagree: the 0-10 total is better" in line
    line = next(x for x in q1.splitlines() if x.startswith("- Correctness") and "m2 L3 vs L0" in x)
    assert "inconclusive" in line and "The two differ" in line
    assert "no difference" not in q1.split("- Correctness")[1]


def test_the_seed_total_is_untouched_by_correctness(graded):
    """The 0-10 total keeps its meaning: the comparison sheet's quality is the mean total of the scores file."""
    scores = pd.read_csv(graded["scores"])
    means = scores.groupby(["model_id", "level"])["total_score"].mean()
    for row in sheet_rows(graded["book"], "comparison"):
        assert row["quality (0-10)"] == pytest.approx(means[(row["model"], row["level"])], rel=1e-12)


def test_a_study_without_references_has_no_correctness_sheet(tmp_path):
    truth = Truth(models=("solo",), categories=("writing", "math"), per_category=4, reference_categories=())
    analysis, _, _ = analysed_study(tmp_path, truth, 5, LEVELS, 200)
    assert analysis.correctness is None
    names = openpyxl.load_workbook(tmp_path / "model_comparison.xlsx", read_only=True).sheetnames
    assert "correctness" not in names and "best_level_sets" in names
    assert "Correctness (" not in render_summary(analysis)
    assert np.isnan(analysis.summary["reference_match"]).all()
