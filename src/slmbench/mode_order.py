"""The designed order with power modes (jetson.power_modes): run_order's rounds, each run once per mode.

slmbench.run_order puts the shards in rounds (each slot carries its `round`). A study with M power modes runs
each round's block of shards M times in a row, once per mode, so the board switches at most M times per round
(a switch costs jetson.settle_s and an idle re-measured after it) instead of once per shard. The modes of a
round follow a row of a seeded Williams design over the modes, the next row each round: over M rounds (M even;
2M when M is odd) every mode takes every place in a round equally often and follows every other mode equally
often, so neither the warm-up of a long MAXN block nor the order of the modes lands on one mode. Each shard
keeps its place inside the round's block, so the level and model balance of run_order holds in every mode.

Only a slot's `round`, `model`, `level` and `category` are read: the layer composes with whatever round
structure run_order builds. Stdlib only (the rules ask it while Snakemake plans the jobs; Python 3.10 safe).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

from .run_order import designed_order, williams_rows

ModeShard = Tuple[str, str, str, str]  # (model, level, category, mode)


@dataclass(frozen=True)
class ModeSlot:
    position: int  # 0-based place in the study's execution order, modes included
    slot: Any  # the run_order slot it runs (model, level, category, round)
    mode: str  # the power mode's label (jetson.power_modes, as configured)
    round: int  # the run_order round

    @property
    def key(self) -> ModeShard:
        return (self.slot.model, self.slot.level, self.slot.category, self.mode)


def mode_rows(modes: Sequence[str], seed: int) -> List[list]:
    """The modes' order in each round (round i takes row i modulo the number of rows)."""
    return williams_rows(list(modes), random.Random(f"power-modes/{seed}"))


def idle_ranks(modes: Sequence[str], seed: int) -> Dict[str, int]:
    """Mode -> rank of its idle baseline among the baselines (all measured before the first shard, the highest rank
    first): the mode the first round starts in comes last, so the first shard needs no switch."""
    return {mode: rank for rank, mode in enumerate(mode_rows(modes, seed)[0])}


def mode_order(slots: Sequence, modes: Sequence[str], seed: int) -> List[ModeSlot]:
    """Every slot once per mode: the slots of each round as one block, the block once per mode, the modes in
    the round's row of the seeded Williams design (see the module docstring)."""
    rows = mode_rows(modes, seed)
    rounds: Dict[int, list] = {}
    for slot in slots:
        rounds.setdefault(slot.round, []).append(slot)
    out: List[ModeSlot] = []
    for index, (rnd, block) in enumerate(rounds.items()):
        for mode in rows[index % len(rows)]:
            for slot in block:
                out.append(ModeSlot(len(out), slot, mode, rnd))
    return out


def mode_positions(models: Sequence[str], levels: Sequence[str], categories: Sequence[str], seed: int,
                   modes: Sequence[str]) -> Dict[ModeShard, int]:
    """(model, level, category, mode) -> its position in the designed order with modes."""
    return {s.key: s.position for s in mode_order(designed_order(models, levels, categories, seed), modes, seed)}


def switches(modes_in_run_order: Sequence) -> int:
    """How often the mode changes along a sequence (the first mode is set, not switched to)."""
    return sum(a != b for a, b in zip(modes_in_run_order, modes_in_run_order[1:]))
