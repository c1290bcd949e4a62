"""The designed run order: every shard once, levels balanced over time, reproducible from the seed."""

from __future__ import annotations

import random
from collections import Counter
from itertools import product
from pathlib import Path

import pytest
import yaml

from slmbench.mode_order import mode_order
from slmbench.run_order import (
    adjacent_pairs,
    carryover_counts,
    designed_order,
    levels_are_blockwise,
    pair_spread,
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
    # each model runs 8 of its Williams design's 10 rows (in a complete design every level takes every place
    # equally often), and the rows are chosen for carryover balance first: the places stay within a few of 6.4
    slots = designed_order(MODELS, LEVELS, CATEGORIES, seed=7)
    by_position = Counter((s.position % len(LEVELS), s.level) for s in slots)
    for position in range(len(LEVELS)):
        counts = [by_position[(position, level)] for level in LEVELS]
        assert max(counts) - min(counts) <= 3, counts


REPO = Path(__file__).resolve().parents[1]


def _shards_in_order(config_path):
    """The shards of a config in their execution order (modes included, grouped as the workflow runs them)."""
    config = yaml.safe_load((REPO / config_path).read_text())
    models = [m["id"] for m in config["models"]]
    seed = config["inference"]["order_seed"]
    slots = designed_order(models, config["levels"], config["categories"], seed)
    modes = config["jetson"]["power_modes"] or []
    if len(modes) >= 2:
        return config, [(s.slot.model, s.slot.level, s.mode, s.position) for s in mode_order(slots, modes, seed)]
    return config, [(s.model, s.level, None, s.position) for s in slots]


@pytest.mark.parametrize("config_path", ["config/config.yaml", "config/demo.yaml"])
def test_each_ordered_pair_of_levels_follows_equally_often_within_each_model(config_path):
    config, shards = _shards_in_order(config_path)
    levels = config["levels"]
    sequences = {}
    for model, level, mode, _ in shards:
        sequences.setdefault((model, mode), []).append(level)
    assert len(sequences) == len(config["models"]) * max(1, len(config["jetson"]["power_modes"] or []))
    for key, sequence in sequences.items():
        counts = adjacent_pairs(sequence)
        values = [counts[(a, b)] for a in levels for b in levels if a != b]
        assert max(values) - min(values) <= 1, (key, counts)
        assert sum(values) >= len(sequence) - 1 - len(config["categories"])  # only round steps may repeat a level


def test_the_carryover_guard_fails_on_the_cyclic_latin_square_it_replaced():
    # the order before the Williams design: rows of one shuffled cyclic Latin square, the next row each round
    rng = random.Random(7)
    symbols = list(LEVELS)
    rng.shuffle(symbols)
    rows = [[symbols[(r + c) % 5] for c in range(5)] for r in range(5)]
    cyclic = [level for rnd in range(len(CATEGORIES)) for level in rows[rnd % 5]]
    assert pair_spread(cyclic, LEVELS) > 1
    williams = designed_order(MODELS, LEVELS, CATEGORIES, seed=7)
    assert all(pair_spread([s.level for s in williams if s.model == m], LEVELS) <= 1 for m in MODELS)


def test_no_level_keeps_one_predecessor_on_the_board():
    # carryover is physical (a warm die): the shard run just before, whichever model ran it. The cyclic square
    # gave each level the same predecessor in 25-26 of its 32 shards; chance is about 8
    _, shards = _shards_in_order("config/config.yaml")
    previous = Counter((a[1], b[1]) for a, b in zip(shards, shards[1:]))
    for level in LEVELS:
        most = max(n for (before, after), n in previous.items() if after == level)
        assert most <= 13, (level, previous)


def test_carryover_counts_follow_each_models_shards_in_position_order():
    slots = designed_order(MODELS, LEVELS, CATEGORIES, seed=3)
    counts = carryover_counts(list(reversed(slots)))  # the order of the input does not matter, positions do
    assert set(counts) == set(MODELS)
    assert all(sum(c.values()) >= 39 - len(CATEGORIES) for c in counts.values())
    first = [s.level for s in slots if s.model == MODELS[0]]
    assert counts[MODELS[0]] == adjacent_pairs(first)


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
