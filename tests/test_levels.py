"""slmbench.levels: the one definition of the level bands and the growth rule."""

from __future__ import annotations

from slmbench import levels as design


def test_bands_are_per_step_over_the_previous_level():
    assert {name: (band.low, band.high) for name, band in design.step_bands().items()} == {
        "L1": (50, 150), "L2": (100, 200), "L3": (150, 250), "P": (100, 200)}
    assert [design.base_of(n) for n in ("L1", "L2", "L3", "P", "P1", "P2", "P3")] == [
        "L0", "L1", "L2", "L3", "L0", "L0", "L0"]
    assert design.rule_text() == "L0 < L1 < L2 < L3 < P" and design.rule_text(["L0", "P", "L1"]) == "L0 < L1 < P"


def test_growth_problems_name_the_level_at_fault():
    good = {"L0": 30, "L1": 130, "L2": 280, "L3": 480, "P": 630}
    assert design.growth_problems(good) == []
    bad = dict(good, L1=60, P=400)  # L1 only +30; P shorter than L3
    problems = design.growth_problems(bad)
    assert ("L1", "+30 tokens over L0, band +50..150") in problems
    assert [lvl for lvl, _ in problems if "not longer than L3" in _] == ["P"]
    assert design.growth_problems({"L0": 10, "L4": 5}) == []  # a user's own level: no band, no rule


def test_length_matched_controls():
    lengths = {"L0": 30, "L1": 130, "L2": 280, "L3": 480, "P": 630, "P1": 125, "P2": 290, "P3": 400}
    assert design.growth_problems(lengths) == [("P3", "+370 tokens over L0, but L3 adds +450: a length-matched "
                                                      "control must be within 45 tokens of it")]
    assert design.order_problems({"L0": 30, "P1": 20})[0][0] == "P1"
