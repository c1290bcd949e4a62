"""tegrastats lines -> rail readings in mW, for every JetPack's format.

One line looks like (JetPack 6, Orin Nano):
    11-02-2024 10:20:30 RAM 2010/7620MB ... GR3D_FREQ 0%@[624] cpu@47.9C VDD_IN 4556mW/4556mW VDD_SOC 1410mW/1410mW
JetPack 4 writes no unit (`POM_5V_IN 2448/2448`), JetPack 7 writes `cur/avg/max`. The first number is the
instantaneous reading; the second is tegrastats' running average since it started, which lags every change
and must never be integrated. A rail token is `NAME value[mW]/value[mW][/value[mW]]` with integers that may be
negative (sub-rails of some boards read slightly below zero at rest); `RAM 2010/7620MB` and other fields
never match because their numbers carry another unit.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Sequence, Tuple

from .rails import board_total_rails, total_mw

_VALUE = r"(-?\d+)(?:mW)?"
# A rail's first value is kept only when followed by "/": a line cut inside its first number is not a reading.
# What follows the first "/" is either the rest of a whole token (avg[/max]) or, at the very end of a cut line,
# any partial number.
RAIL_TOKEN = re.compile(
    rf"(?:(?<=\s)|^)([A-Za-z][A-Za-z0-9_]*) {_VALUE}/"
    rf"(?:(?:{_VALUE}(?:/{_VALUE})?)?(?=\s|$)|[-0-9mW/]*$)"
)


def parse_rails(line: object) -> Dict[str, int]:
    """Rail name -> instantaneous mW for one tegrastats line; {} for an empty, garbage or non-text line."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    if not isinstance(line, str):
        return {}
    rails: Dict[str, int] = {}
    for match in RAIL_TOKEN.finditer(line.strip()):
        rails.setdefault(match.group(1), int(match.group(2)))
    return rails


def parse_line(line: object, model: Optional[str] = None,
               rails: Optional[Sequence[str]] = None) -> Tuple[Optional[float], Dict[str, int]]:
    """(board total mW or None, all rail readings) for one line, choosing the total rails from this line alone.

    Never raises for bad input: a line without a known total gives None. (A `rails` override naming a rail
    the line lacks also gives None here: one line cannot tell a truncated line from a wrong override.)
    """
    readings = parse_rails(line)
    if not readings:
        return None, readings
    if rails:
        return total_mw(readings, rails), readings
    chosen = board_total_rails(list(readings), model)
    return (total_mw(readings, chosen) if chosen else None), readings
