"""The study's designed run order: which shard runs when, seeded, balancing levels (and models) over time.

A 3–5 hour study drifts: the board warms up, a fan speeds up, the clock governor settles. If all of L0 ran
first and all of P last, that drift would land on the level comparison the study exists for. So shards run
in rounds: in every round each model runs each level exactly once, the order of the levels inside a round
follows the rows of a (seeded, shuffled) Latin square, so every level takes every position equally often,
and each level meets each category exactly once over the rounds. Models alternate inside a round, so
board drift is spread over models too. The order is a pure function of the config and `order_seed`:
stdlib only (the inference step may run under JetPack 6's Python 3.10) and recomputable from the records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

Shard = Tuple[str, str, str]  # (model, level, category)


@dataclass(frozen=True)
class ShardSlot:
    position: int  # 0-based position of the shard in the study's execution order
    model: str
    level: str
    category: str
    round: int  # the round it belongs to (every level of every model once per round)


def latin_rows(levels: Sequence[str], rng: random.Random) -> List[List[str]]:
    """A cyclic Latin square over `levels` with shuffled symbols and rows: each level once per row and column."""
    symbols = list(levels)
    rng.shuffle(symbols)
    k = len(symbols)
    rows = [[symbols[(r + c) % k] for c in range(k)] for r in range(k)]
    rng.shuffle(rows)
    return rows


def designed_order(models: Sequence[str], levels: Sequence[str], categories: Sequence[str],
                   seed: int) -> List[ShardSlot]:
    """Every (model, level, category) once, in the designed order (see the module docstring)."""
    rng = random.Random(seed)
    cats = list(categories)
    rng.shuffle(cats)
    rows = latin_rows(levels, rng)
    # each level's category offset: over len(cats) rounds, level l meets category (round + offset_l) once
    offsets = {level: i for i, level in enumerate(rng.sample(list(levels), len(levels)))}
    slots: List[ShardSlot] = []
    for rnd in range(len(cats)):
        round_models = list(models)
        rng.shuffle(round_models)
        for model in round_models:
            for level in rows[(len(slots) // len(levels)) % len(rows)]:  # next Latin row per model-round
                category = cats[(rnd + offsets[level]) % len(cats)]
                slots.append(ShardSlot(len(slots), model, level, category, rnd))
    return slots


def positions(models: Sequence[str], levels: Sequence[str], categories: Sequence[str],
              seed: int) -> Dict[Shard, int]:
    """(model, level, category) -> its position in the designed order."""
    return {(s.model, s.level, s.category): s.position for s in designed_order(models, levels, categories, seed)}


def question_order(items: Sequence, seed: int, shard: Shard) -> List:
    """The order of a shard's questions (ids, or (question, variant) pairs): shuffled per shard, so no question
    always runs first after a load. The permutation depends only on the number of items, so a one-variant study
    given (question, 0) pairs runs in the same order as one given the ids; variants of a question are spread
    over the shard like the questions."""
    order = list(items)
    random.Random(f"{seed}/{'/'.join(shard)}").shuffle(order)
    return order


def timing_repeat_items(items: Sequence, share: float, seed: int, shard: Shard) -> List:
    """The items of a shard measured a second time: each with probability `share`, seeded per shard and item,
    so a study's repeats are a share of its runs whatever the shard size (a 1-question shard included)."""
    if share <= 0:
        return []
    rng = random.Random(f"repeat/{seed}/{'/'.join(shard)}")
    return [item for item in items if rng.random() < share]


def run_index(shard_position: int, item: int, questions_per_shard: int) -> int:
    """A record's position in the study's execution order (shard position x shard size + item)."""
    return shard_position * questions_per_shard + item


def blockwise_share(levels_in_run_order: Sequence[str]) -> float:
    """Share of consecutive runs that repeat the previous run's level: 1.0 for L0…L0 L1…L1 blocks.

    A designed order of K levels interleaved shard by shard stays near (shard size - 1) / shard size; the
    check that matters is that the level sequence does not come in one block per level (see
    `levels_are_blockwise`).
    """
    pairs = list(zip(levels_in_run_order, levels_in_run_order[1:]))
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0


def levels_are_blockwise(levels_in_run_order: Sequence[str]) -> bool:
    """True when each level's runs form one contiguous block (the L0→P order the design forbids)."""
    seen, previous = set(), None
    for level in levels_in_run_order:
        if level != previous:
            if level in seen:
                return False
            seen.add(level)
            previous = level
    return len(seen) > 1
