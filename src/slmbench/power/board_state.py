"""What else the board was doing during a measured window: other processes' CPU, die temperature, throttling.

The power rails measure the whole module, so a record is only as good as its window was quiet. These readers
put the evidence on every record (`background_cpu_pct`, `temp_c_start`, `temp_c_end`, `throttled`) instead
of trusting the schedule. Stdlib only, Python 3.10 (the inference step may run under JetPack 6's Python);
`root` lets tests point at a fake /proc and /sys tree laid out exactly like the real ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

# thermal zone types that name the die (Jetson: cpu-thermal, gpu-thermal, soc0-thermal, tj-thermal;
# x86: x86_pkg_temp); other zones (board, PMIC, battery) are not the die
_DIE_ZONE_HINTS = ("cpu", "gpu", "soc", "tj", "x86_pkg", "package")


@dataclass(frozen=True)
class CpuSnapshot:
    total_jiffies: int  # all CPUs, all states
    busy_jiffies: int  # all CPUs, not idle or iowait
    own_jiffies: int  # this process, all its threads (utime + stime)


def cpu_snapshot(root: str = "/", pid: Optional[int] = None) -> Optional[CpuSnapshot]:
    """Counters from /proc/stat and /proc/<pid>/stat; None where /proc cannot be read (not Linux)."""
    try:
        first = (Path(root) / "proc/stat").read_text().splitlines()[0].split()
        own = (Path(root) / f"proc/{pid or os.getpid()}/stat").read_text()
    except (OSError, IndexError):
        return None
    if first[0] != "cpu":
        return None
    values = [int(v) for v in first[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest time is inside user)
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    # the command name may contain spaces and parentheses: the fields start after the last ')'
    fields = own.rsplit(")", 1)[1].split()
    return CpuSnapshot(total, total - idle, int(fields[11]) + int(fields[12]))


def background_cpu_pct(start: Optional[CpuSnapshot], end: Optional[CpuSnapshot]) -> Optional[float]:
    """CPU used by every process but this one during the window, in % of the whole machine (all cores).

    None when either snapshot is missing or no clock tick passed (a window shorter than 10 ms).
    The power sampler's own thread belongs to this process; a tegrastats child is counted (a few 0.1 %).
    """
    if start is None or end is None:
        return None
    elapsed = end.total_jiffies - start.total_jiffies
    if elapsed <= 0:
        return None
    other = (end.busy_jiffies - start.busy_jiffies) - (end.own_jiffies - start.own_jiffies)
    return round(max(0.0, min(100.0, 100.0 * other / elapsed)), 2)


def _die_zones(root: str) -> List[Path]:
    zones = sorted((Path(root) / "sys/class/thermal").glob("thermal_zone*"))
    die = []
    for zone in zones:
        try:
            kind = (zone / "type").read_text().strip().lower()
        except OSError:
            continue
        if any(hint in kind for hint in _DIE_ZONE_HINTS):
            die.append(zone)
    return die or zones


def die_temp_c(root: str = "/") -> Optional[float]:
    """The hottest die zone in °C (sysfs millidegrees), or None where the board exposes none."""
    temps = []
    for zone in _die_zones(root):
        try:
            temps.append(int((zone / "temp").read_text().strip()) / 1000.0)
        except (OSError, ValueError):
            continue
    return round(max(temps), 1) if temps else None


def throttled(root: str = "/") -> Optional[bool]:
    """Whether a die zone is at or above its first passive trip point (where the kernel starts throttling).

    None where no die zone declares a passive trip point (nothing to compare against).
    """
    known = False
    for zone in _die_zones(root):
        try:
            temp = int((zone / "temp").read_text().strip())
        except (OSError, ValueError):
            continue
        for trip_type in sorted(zone.glob("trip_point_*_type")):
            try:
                if trip_type.read_text().strip() != "passive":
                    continue
                trip = int(Path(str(trip_type).replace("_type", "_temp")).read_text().strip())
            except (OSError, ValueError):
                continue
            known = True
            if temp >= trip:
                return True
    return False if known else None
