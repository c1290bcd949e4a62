"""The study's designed run order: which shard runs when, seeded, balancing levels (and models) over time.

A 3–5 hour study drifts: the board warms up, a fan speeds up, the clock governor settles. If all of L0 ran
first and all of P last, that drift would land on the level comparison the study exists for. So shards run
in rounds: in every round each model runs each level exactly once, and each level meets each category exactly
once over the rounds. Models alternate inside a round, so board drift is spread over models too.

A shard also leaves something behind for the next one (a warm die, a governor's clock, the page cache): first-order
carryover. The levels' order in a model's round is a row of a seeded Williams design (for an odd number of levels
the pair of mirrored squares), so every level takes every place equally often and follows every other level
equally often; the rows of a model's rounds are chosen so that this holds along the model's whole sequence of
shards, the step from one round to the next included (each ordered pair of distinct levels adjacent equally often,
±1). A cyclic Latin square, the design before this one, gave each level the same predecessor in ~80 % of its shards.
The order is a pure function of the config and `order_seed`: stdlib only (the inference step may run under
JetPack 6's Python 3.10) and recomputable from the records.
"""

from __future__ import annotations

import random
from collections import Counter
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


def williams_rows(items: Sequence, rng: random.Random) -> List[list]:
    """Orders of `items` (a seeded Williams design): each item once per row, at each place equally often, and
    each ordered pair adjacent equally often. n rows for an even n, 2n (each row also reversed) for an odd n."""
    symbols = list(items)
    rng.shuffle(symbols)
    n = len(symbols)
    first, low, high = [0], 1, n - 1
    while len(first) < n:  # 0, 1, n-1, 2, n-2, ...: every difference between neighbours occurs once
        if len(first) % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [[(i + shift) % n for i in first] for shift in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    rng.shuffle(rows)
    return [[symbols[i] for i in row] for row in rows]


def adjacent_pairs(sequence: Sequence[str]) -> Counter:
    """(previous, next) -> how often `next` directly follows `previous`, for distinct neighbours only."""
    return Counter((a, b) for a, b in zip(sequence, sequence[1:]) if a != b)


def pair_spread(sequence: Sequence[str], levels: Sequence[str]) -> int:
    """Most minus least frequent ordered pair of distinct levels among neighbours (0 or 1: balanced)."""
    counts = adjacent_pairs(sequence)
    values = [counts[(a, b)] for a in levels for b in levels if a != b]
    return max(values) - min(values) if values else 0


# A handful of draws finds a balanced sequence (the study's 8 rounds of 5 levels: ~50); the bounds keep planning
# time fixed for odd sizes, where the best draw found is used.
_MAX_DRAWS = 2000
_CANDIDATES = 16  # balanced sequences drawn per model, of which the one keeping places balanced over models wins


def _draw_rounds(levels: Sequence[str], rounds: int, rng: random.Random) -> List[List[str]]:
    """Rows of a seeded Williams design for `rounds` rounds, each row once before any is used again."""
    design = williams_rows(levels, rng)
    rows: List[List[str]] = []
    while len(rows) < rounds:
        cycle = list(design)
        rng.shuffle(cycle)
        rows += cycle
    return rows[:rounds]


def _place_spread(places: Counter, levels: Sequence[str]) -> float:
    """How uneven the levels' places are: the sum over (place, level) of the squared deviation from the mean."""
    total = 0.0
    for place in range(len(levels)):
        counts = [places[(place, level)] for level in levels]
        mean = sum(counts) / len(counts)
        total += sum((c - mean) ** 2 for c in counts)
    return total


def model_rounds(levels: Sequence[str], rounds: int, rng: random.Random,
                 places: Counter = None) -> List[List[str]]:
    """One model's level order in each of `rounds` rounds: rows of the Williams design, drawn until the model's
    whole sequence, round boundaries included, has every ordered pair of distinct levels adjacent equally often
    (±1). Of a few such draws the one that keeps `places` ((place, level) counts of the models before, updated
    here) most even wins, so each level also takes each place in a round about equally often over models."""
    places = Counter() if places is None else places
    best, best_key, found = [], None, 0
    for _ in range(_MAX_DRAWS):
        rows = _draw_rounds(levels, rounds, rng)
        spread = pair_spread([level for row in rows for level in row], levels)
        found += spread <= 1
        # a draw worse on the pairs loses whatever its places: its place count (the slow part) is never needed
        if best_key is None or (spread > 1, spread) <= best_key[:2]:
            trial = places + Counter((i, level) for row in rows for i, level in enumerate(row))
            key = (spread > 1, spread, _place_spread(trial, levels))
            if best_key is None or key < best_key:
                best, best_key = rows, key
        if found >= _CANDIDATES:
            break
    places.update((i, level) for row in best for i, level in enumerate(row))
    return best


def designed_order(models: Sequence[str], levels: Sequence[str], categories: Sequence[str],
                   seed: int) -> List[ShardSlot]:
    """Every (model, level, category) once, in the designed order (see the module docstring)."""
    rng = random.Random(seed)
    cats = list(categories)
    rng.shuffle(cats)
    # each level's category offset: over len(cats) rounds, level l meets category (round + offset_l) once
    offsets = {level: i for i, level in enumerate(rng.sample(list(levels), len(levels)))}
    places: Counter = Counter()
    rows = {model: model_rounds(levels, len(cats), rng, places) for model in models}
    slots: List[ShardSlot] = []
    for rnd in range(len(cats)):
        round_models = list(models)
        rng.shuffle(round_models)
        for model in round_models:
            for level in rows[model][rnd]:
                category = cats[(rnd + offsets[level]) % len(cats)]
                slots.append(ShardSlot(len(slots), model, level, category, rnd))
    return slots


def carryover_counts(slots: Sequence) -> Dict[str, Counter]:
    """Model -> (previous level, level) counts along that model's shards in execution order (any objects with
    `position`, `model` and `level`): the first-order carryover balance the design promises."""
    sequences: Dict[str, List[str]] = {}
    for slot in sorted(slots, key=lambda s: s.position):
        sequences.setdefault(slot.model, []).append(slot.level)
    return {model: adjacent_pairs(sequence) for model, sequence in sequences.items()}


def positions(models: Sequence[str], levels: Sequence[str], categories: Sequence[str],
              seed: int) -> Dict[Shard, int]:
    """(model, level, category) -> its position in the designed order."""
    return {(s.model, s.level, s.category): s.position for s in designed_order(models, levels, categories, seed)}


def repeated_shards(shards: Sequence[tuple], per_model: int, seed: int) -> List[tuple]:
    """The shards run a second time (inference.shard_repeats): `per_model` of each model's shards (keys whose first
    item is the model), seeded, in the order given."""
    if per_model <= 0:
        return []
    by_model: Dict[str, List[tuple]] = {}
    for key in shards:
        by_model.setdefault(key[0], []).append(tuple(key))
    rng = random.Random(f"shard-repeats/{seed}")
    chosen = {key for keys in by_model.values() for key in rng.sample(keys, min(per_model, len(keys)))}
    return [tuple(key) for key in shards if tuple(key) in chosen]


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
