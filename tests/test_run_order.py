"""The designed run order: every shard once, levels balanced over time, reproducible from the seed."""

from __future__ import annotations

from collections import Counter
from itertools import product

from slmbench.run_order import (
    designed_order,
    levels_are_blockwise,
    positions,
    question_order,
    run_index,
)

MODELS = ["qwen1.5-1.8b", "gemma-2-2b", "phi-3.5-mini", "qwen3-4b"]
LEVELS = ["L0", "L1", "L2", "L3", "P"]
CATEGORIES = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]


def test_every_shard_exactly_once_and_positions_are_the_order():
    slots = designed_order(MODELS, LEVELS, CATEGORIES, seed=7)
    assert sorted((s.model, s.level, s.category) for s in slots) == sorted(product(MODELS, LEVELS, CATEGORIES))
    assert [s.position for s in slots] == list(range(160))


def test_each_model_runs_each_level_once_per_round():
    slots = designed_order(MODELS, LEVELS, CATEGORIES, seed=7)
    for rnd in range(len(CATEGORIES)):
        for model in MODELS:
            assert sorted(s.level for s in slots if s.round == rnd and s.model == model) == sorted(LEVELS)


def test_levels_take_every_position_inside_a_model_round_about_equally_often():
    slots = designed_order(MODELS, LEVELS, CATEGORIES, seed=7)
    by_position = Counter((s.position % len(LEVELS), s.level) for s in slots)
    for position in range(len(LEVELS)):
        counts = [by_position[(position, level)] for level in LEVELS]
        assert max(counts) - min(counts) <= 1, counts


def test_not_blockwise_and_drift_is_balanced_between_levels():
    slots = designed_order(MODELS, LEVELS, CATEGORIES, seed=7)
    order = [s.level for s in slots]
    assert not levels_are_blockwise(order)
    assert levels_are_blockwise(sorted(order, key=LEVELS.index))  # the guard can fail
    mean_position = {lv: sum(s.position for s in slots if s.level == lv) / 32 for lv in LEVELS}
    # a linear drift over the study would shift a level's mean by at most a few shards out of 160
    assert max(mean_position.values()) - min(mean_position.values()) < 8, mean_position


def test_same_seed_same_order_other_seed_other_order():
    a = positions(MODELS, LEVELS, CATEGORIES, 1)
    assert a == positions(MODELS, LEVELS, CATEGORIES, 1)
    assert a != positions(MODELS, LEVELS, CATEGORIES, 2)


def test_question_order_and_run_index():
    shard = ("m", "L1", "math")
    order = question_order(list(range(81, 91)), 3, shard)
    assert sorted(order) == list(range(81, 91)) and order == question_order(list(range(81, 91)), 3, shard)
    assert run_index(0, 0, 10) == 0 and run_index(3, 9, 10) == 39


def test_timing_repeats_are_a_seeded_share_of_the_runs():
    from slmbench.run_order import timing_repeat_items

    shards = [("m", lv, f"c{i}") for lv in ("L0", "L1") for i in range(200)]
    picked = [timing_repeat_items([1], 0.25, 5, shard) for shard in shards]
    share = sum(len(p) for p in picked) / len(shards)
    assert 0.18 < share < 0.32
    assert picked == [timing_repeat_items([1], 0.25, 5, shard) for shard in shards]
    assert timing_repeat_items(list(range(10)), 0.0, 5, shards[0]) == []
    assert timing_repeat_items(list(range(10)), 1.0, 5, shards[0]) == list(range(10))
