"""Carryover on the records: the Williams order's pair balance shown, and a planted carryover found (a generated
study in the project's record format, written for this test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from planted_study import MODELS, write_planted_study

from slmbench.report.carryover import carryover_lines, carryover_test, shard_means
from slmbench.run_order import designed_order

LEVELS = ["L0", "L1", "L2", "L3", "P"]
CATEGORIES = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]


def _study(after_p_ms: float, seed: int, order=None) -> pd.DataFrame:
    """Shards of 3 models x 5 levels x 8 categories in the designed order, 4 questions each; a shard's latency
    is its model's and level's plus `after_p_ms` when the shard before it on the board ran level P."""
    rng = np.random.default_rng(seed)
    slots = order or designed_order(MODELS, LEVELS, CATEGORIES, seed=7)
    rows, previous = [], None
    for slot in slots:
        shard_effect = rng.normal(0, 20)
        for q in range(4):
            latency = 1000 + 100 * LEVELS.index(slot.level) + shard_effect + rng.normal(0, 30)
            latency += after_p_ms if previous == "P" else 0.0
            rows.append({"status": "ok", "model_id": slot.model, "level": slot.level, "category": slot.category,
                         "power_mode_id": None, "shard_position": slot.position, "question_id": q,
                         "latency_ms": latency, "energy_j": None, "temp_c_start": None})
        previous = slot.level
    return pd.DataFrame(rows)


def test_a_planted_carryover_is_found_and_none_is_not_invented():
    found = carryover_test(shard_means(_study(after_p_ms=80, seed=1)), "latency_ms")
    assert found["p"] < 0.01 and found["largest_level"] == "P" and found["largest_effect"] > 40, found
    assert found["df"] == 4 and found["shards"] == 119
    quiet = [carryover_test(shard_means(_study(after_p_ms=0, seed=s)), "latency_ms")["p"] for s in range(6)]
    assert sum(p < 0.05 for p in quiet) <= 1, quiet
    assert carryover_test(shard_means(_study(0, seed=1)), "energy_j") is None  # not measured: not tested


def test_the_validation_shows_the_pair_balance_and_the_test(tmp_path):
    from slmbench.report.validate import validate_results

    runs_path, scores_path, runs, scores = write_planted_study(tmp_path / "in")
    position = {(s.model, s.level, s.category): s.position
                for s in designed_order(MODELS, LEVELS, ["writing", "math"], seed=3)}
    for row in runs:
        row["shard_position"] = position[(row["model_id"], row["level"], row["category"])]
    runs_path, scores_path, _, _ = write_planted_study(tmp_path / "placed", runs, scores)
    validate_results(runs_path, scores_path, None, tmp_path / "validation.txt")
    text = (tmp_path / "validation.txt").read_text()
    for model in MODELS:
        assert f"PASS  carryover balance {model}: each ordered pair of levels 0-1 times in a row" in text
    assert "carryover latency_ms:" in text and "carryover energy_j:" in text


def test_the_balance_check_fails_an_order_with_a_fixed_predecessor():
    # the cyclic square's habit: every round in the same order, so L0 always follows P
    slots = designed_order(["m"], LEVELS, CATEGORIES, seed=7)
    fixed = [type(s)(s.position, s.model, LEVELS[s.position % 5], s.category, s.round) for s in slots]
    lines = carryover_lines(_study(0, seed=2, order=fixed), LEVELS)
    (balance,) = [line for line in lines if line[1] == "carryover balance m"]
    assert balance[0] == "WARN" and "P>L0 7" in balance[2]
