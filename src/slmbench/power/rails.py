"""Which rails make up the board's total power, from the board model and the rails a sensor reports.

Summing the wrong rails is the classic Jetson energy mistake: on most boards one input rail already holds
the total (its sub-rails are part of it), while the AGX boards have no single total rail and the total is
the sum of several. The choice is made once per sampler and recorded with every measurement.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import UserError

AGX_XAVIER_RAILS = ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"]
AGX_ORIN_RAILS = ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]

# (pattern on the lower-cased device-tree model, rails summed). Orin/Thor come before "nano" and "xavier" so
# that "Orin Nano" is not taken for the original Nano.
BOARD_RAILS: List[Tuple[str, List[str]]] = [
    (r"thor", ["VIN"]),
    (r"agx orin", AGX_ORIN_RAILS),
    (r"orin (nx|nano)", ["VDD_IN"]),
    (r"agx xavier|jetson-agx", AGX_XAVIER_RAILS),
    (r"xavier nx", ["VDD_IN"]),
    (r"jetson nano|jetson-nano", ["POM_5V_IN"]),
]

# When the model is unknown (or its rails are absent): the first set whose rails are all present.
RAILS_BY_PRESENCE: List[List[str]] = [["POM_5V_IN"], ["VDD_IN"], ["VIN"], AGX_ORIN_RAILS, AGX_XAVIER_RAILS]


def read_board_model(root: str = "/") -> Optional[str]:
    """The device-tree model string (e.g. "NVIDIA Jetson Orin Nano Developer Kit"), or None off a Jetson."""
    for rel in ("proc/device-tree/model", "sys/firmware/devicetree/base/model"):
        try:
            with open(os.path.join(root, rel), "rb") as fh:
                text = fh.read().rstrip(b"\0\n").decode("utf-8", errors="replace").strip()
        except OSError:
            continue
        if text:
            return text
    return None


def board_total_rails(present: Sequence[str], model: Optional[str] = None,
                      override: Optional[Sequence[str]] = None) -> Optional[List[str]]:
    """Rails to sum for the board total, or None when no known total is among `present`.

    `override` (config power.rails) wins; a named rail the sensor does not report is a user error, because
    silently summing fewer rails would under-report every joule.
    """
    present_set = set(present)
    if override:
        missing = [r for r in override if r not in present_set]
        if missing:
            raise UserError(
                f"power.rails names {', '.join(missing)}, which the sensor does not report (it reports: "
                f"{', '.join(sorted(present_set)) or 'nothing'}); fix power.rails in the config or set it to null"
            )
        return list(override)
    if model:
        lowered = model.lower()
        for pattern, rails in BOARD_RAILS:
            if re.search(pattern, lowered) and present_set.issuperset(rails):
                return list(rails)
    for rails in RAILS_BY_PRESENCE:
        if present_set.issuperset(rails):
            return list(rails)
    return None


def total_mw(readings: Mapping[str, float], rails: Sequence[str]) -> Optional[float]:
    """Sum of the chosen rails; None when any of them is missing from this reading."""
    try:
        return float(sum(readings[r] for r in rails))
    except KeyError:
        return None


def no_total_reason(present: Sequence[str]) -> str:
    return (
        f"no known board-total rail among the rails reported ({', '.join(sorted(present)) or 'none'}); "
        f"set power.rails to the rails to sum"
    )


def unique_labels(labels: Sequence[str]) -> Dict[int, str]:
    """Index -> label with duplicates numbered (AGX Orin has two INA3221 chips, each with an "NC" channel)."""
    seen: Dict[str, int] = {}
    out: Dict[int, str] = {}
    for i, label in enumerate(labels):
        n = seen.get(label, 0)
        seen[label] = n + 1
        out[i] = label if n == 0 else f"{label}#{n + 1}"
    return out
