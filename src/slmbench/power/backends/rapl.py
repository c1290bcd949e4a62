"""Intel/AMD RAPL energy counters from /sys/class/powercap (a laptop or PC running the demo).

Domains: `intel-rapl:N` (a CPU package, or `psys`, the whole platform on recent laptops) and sub-domains
`intel-rapl:N:M` (core, uncore, dram). The default total is `psys` when present (it includes the packages),
else every package plus the dram domains, which lie outside the package. `energy_uj` wraps around at
`max_energy_range_uj`. Since Linux 5.10 the counters are readable by root only.
"""

from __future__ import annotations

import glob
import os
from typing import Dict, List, Optional

from ...errors import UserError
from .base import BackendUnavailable, CounterBackend
from .ina3221 import read_text

GRANT_READ = (
    "grant read access with `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
    "/sys/class/powercap/intel-rapl:*/intel-rapl:*/energy_uj` (lasts until reboot; a udev rule makes it "
    "permanent), or set power.backend to none"
)


class RaplBackend(CounterBackend):
    name = "rapl"

    def __init__(self, settings):
        super().__init__(settings)
        self.domains: Dict[str, str] = {}  # rail name -> domain directory
        self._ranges: Dict[str, float] = {}

    def probe(self) -> None:
        base = os.path.join(self.settings.sysfs_root, "sys/class/powercap")
        self.domains = find_domains(base)
        if not self.domains:
            raise BackendUnavailable(f"no RAPL domain under {base} (not an Intel/AMD CPU with powercap, or a "
                                     f"container without /sys/class/powercap); use another power.backend")
        for d in self.domains.values():
            read_counter_uj(os.path.join(d, "energy_uj"))

    def start(self) -> None:
        if not self.domains:
            self.probe()
        self.rails = self.settings.rails or default_rails(list(self.domains))
        if not self.rails:
            raise BackendUnavailable(f"RAPL has no package or psys domain (it has: {', '.join(self.domains)}); "
                                     f"set power.rails to the domains to sum")
        unknown = [r for r in self.rails if r not in self.domains]
        if unknown:
            raise UserError(f"power.rails names {', '.join(unknown)}, which RAPL does not have (it has: "
                            f"{', '.join(self.domains)}); fix power.rails or set it to null")
        for rail in self.rails:
            max_range = read_text(os.path.join(self.domains[rail], "max_energy_range_uj"))
            self._ranges[rail] = float(max_range) / 1000.0 if max_range and max_range.isdigit() else 0.0

    def read_mj(self) -> Optional[Dict[str, float]]:
        try:
            return {r: read_counter_uj(os.path.join(self.domains[r], "energy_uj")) / 1000.0 for r in self.rails}
        except BackendUnavailable:
            return None

    def increase_mj(self, rail: str, before: float, after: float) -> Optional[float]:
        if after >= before:
            return after - before
        span = self._ranges.get(rail, 0.0)
        return after + span - before if span > 0 else None


def find_domains(base: str) -> Dict[str, str]:
    """Rail name -> directory: `package-0`, `psys`, `package-0/dram`, ..."""
    domains: Dict[str, str] = {}
    for top in sorted(glob.glob(os.path.join(base, "intel-rapl:*"))):
        if os.path.basename(top).count(":") != 1:
            continue
        top_name = read_text(os.path.join(top, "name")) or os.path.basename(top)
        domains[top_name] = top
        for sub in sorted(glob.glob(os.path.join(top, "intel-rapl:*:*"))):
            sub_name = read_text(os.path.join(sub, "name")) or os.path.basename(sub)
            domains[f"{top_name}/{sub_name}"] = sub
    return domains


def default_rails(names: List[str]) -> List[str]:
    if "psys" in names:
        return ["psys"]
    return [n for n in names if n.startswith("package") and (n.count("/") == 0 or n.endswith("/dram"))]


def read_counter_uj(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            return int(fh.read().split()[0])
    except PermissionError:
        raise BackendUnavailable(f"cannot read {path}: permission denied (RAPL counters are root-only since "
                                 f"Linux 5.10); {GRANT_READ}") from None
    except OSError as exc:
        raise BackendUnavailable(f"cannot read {path} ({exc.strerror})") from None
    except (ValueError, IndexError):
        raise BackendUnavailable(f"{path} does not hold a number") from None
