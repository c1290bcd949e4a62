"""Decisions with their uncertainty (report/decisions.py) on studies with known truth (tests/known_truth.py): a
separated best level is named the single winner; truly equal levels give a set with P(best) for each; the
Pareto sheet's plausible front; Q4's recommendation with its stability and runner-up."""

from __future__ import annotations

import numpy as np
import pytest

from known_truth import Truth, analysed_study
from slmbench.report.decisions import best_set
from slmbench.report.summary import render_summary
from test_report_helpers import sheet_rows

LEVELS = ["L0", "L1", "L2", "L3", "P"]
# "sep": L3 three points above its other levels; "flat": every level equal; "low": a worse model, cheaper
TRUTH = Truth(models=("sep", "flat", "low"), per_category=5, effects={"sep": (0, 0, 0, 3, 0)},
              offsets={"sep": 0.0, "flat": 0.0, "low": -2.0}, energy_base={"sep": 20.0, "flat": 20.0, "low": 10.0})


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decisions")
    analysis, book, _ = analysed_study(tmp, TRUTH, 7, LEVELS, 1000)
    return {"analysis": analysis, "book": book, "summary": render_summary(analysis)}


def yes(value) -> bool:
    """A workbook flag: written as "yes" / "no" (xlsx.write_cell)."""
    assert value in ("yes", "no"), value
    return value == "yes"


def set_rows(planted, model, metric="quality"):
    return [r for r in sheet_rows(planted["book"], "best_level_sets") if r["model"] == model and r["metric"] == metric]


def test_a_separated_best_level_is_named_the_single_winner(planted):
    rows = set_rows(planted, "sep")
    assert [r["level"] for r in rows if yes(r["cannot be told apart from the best"])] == ["L3"]
    assert all(r["single winner (only when separated)"] == "L3" and r["the set"] == "L3" for r in rows)
    l3 = next(r for r in rows if r["level"] == "L3")
    assert l3["P(best): share of resamples where best"] > 0.99
    assert all(r["best - this, simultaneous lower bound"] > 0 for r in rows if r["level"] != "L3")
    best = {r["model"]: r for r in sheet_rows(planted["book"], "best_levels")}["sep"]
    assert best["single winner, only when separated (quality)"] == "L3"


def test_equal_levels_give_a_set_with_the_probability_of_each_and_no_winner(planted):
    rows = set_rows(planted, "flat")
    members = [r["level"] for r in rows if yes(r["cannot be told apart from the best"])]
    assert len(members) >= 3
    assert all(r["single winner (only when separated)"] is None for r in rows)
    shares = [r["P(best): share of resamples where best"] for r in rows]
    assert sum(shares) == pytest.approx(1.0) and max(shares) < 0.9
    best = {r["model"]: r for r in sheet_rows(planted["book"], "best_levels")}["flat"]
    assert best["single winner, only when separated (quality)"] is None
    assert best["cannot be told apart from the best (quality)"] == ", ".join(members)
    q3 = planted["summary"].split("## Q3.")[1].split("## Q4.")[0]
    assert "flat, mean quality: no single best level; these cannot be told apart from the best" in q3
    assert "sep, mean quality: L3 is best and separated from every other level" in q3


def test_the_argmax_of_equal_levels_is_usually_not_a_winner():
    """Over many draws of five equal levels (independent of the report), the set keeps every level in about
    1 - alpha of them and names a single winner rarely; the argmax alone would always name one."""
    rng = np.random.default_rng(1)
    kept, winners = [], []
    for _ in range(60):
        values = rng.normal(5, 1, (30, 1)) + rng.normal(0, 0.8, (30, 5))
        weights = rng.multinomial(30, np.full(30, 1 / 30), size=500)
        draws = weights @ values / 30
        found = best_set(values.mean(0), draws, 0.05)
        kept.append(found["in_set"].all())
        winners.append(found["in_set"].sum() == 1)
    assert np.mean(kept) >= 0.85 and np.mean(winners) <= 0.1


def test_the_pareto_sheet_gives_the_plausible_front(planted):
    rows = sheet_rows(planted["book"], "pareto")
    assert rows
    # a point on the estimated front cannot be surely dominated (a dominating level would beat its estimates)
    assert all(yes(r["cannot be told apart from the front"]) for r in rows if yes(r["on the front"]))
    sep = {r["level"]: r for r in rows if r["model"] == "sep" and r["cost"] == "energy_j"}
    assert yes(sep["L3"]["cannot be told apart from the front"])
    dominated = [r for r in rows if not yes(r["cannot be told apart from the front"])]
    # sep's P: 3 points below L3 and slower (latency rises with the level): surely dominated by L3
    assert ("sep", "P", "latency_ms", "L3") in {(r["model"], r["level"], r["cost"], r["surely dominated by"])
                                                for r in dominated}
    assert "sep: cannot be told apart from the Pareto front of quality vs latency: " in planted["summary"]
    assert "surely dominated: P (by L3)." in planted["summary"]
    assert all(r["surely dominated by"] for r in dominated)


def test_q4_recommendation_has_its_stability_and_runner_up(planted):
    rows = sheet_rows(planted["book"], "recommendation_stability")
    assert sum(r["share of resamples it is recommended"] for r in rows) == pytest.approx(1.0)
    pick = [r for r in rows if yes(r["recommended"])]
    runner = {r["model"] for r in rows if yes(r["runner-up model"])}
    assert len(pick) == 1 and len(runner) == 1 and runner != {pick[0]["model"]}
    recommendation = planted["analysis"].recommendation
    assert (pick[0]["model"], pick[0]["level"]) == (recommendation["pick"]["model"], recommendation["pick"]["level"])
    model_share = sum(r["share of resamples it is recommended"] for r in rows if r["model"] == pick[0]["model"])
    assert pick[0]["share of resamples its model is recommended"] == pytest.approx(model_share)
    q4 = planted["summary"].split("## Q4.")[1]
    assert f"{pick[0]['model']} at {pick[0]['level']} wins in" in q4 and "runner-up model" in q4


def test_energy_and_latency_intervals_resample_shards_and_say_so(planted):
    rows = sheet_rows(planted["book"], "comparison")
    methods = [r["energy CI method"] for r in rows]
    assert all("studentized shard bootstrap (8 categories" in m and "n = 40" in m for m in methods)
    assert all(r["energy J CI low"] < r["energy J"] < r["energy J CI high"] for r in rows)
    stats = sheet_rows(planted["book"], "statistics")
    assert all("shard bootstrap" in r["latency/energy CI method"] for r in stats)
