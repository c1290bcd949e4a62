"""The backend interface: a source of board power samples, and the polling loop shared by sysfs/driver sensors."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Dict, Iterator, List, NamedTuple, Optional


class Sample(NamedTuple):
    t: float  # time.monotonic() seconds at arrival (for energy counters: the middle of the interval)
    mw: float  # board total power, milliwatts
    rails: Dict[str, float]  # the readings summed into mw, milliwatts


class BackendUnavailable(Exception):
    """This backend cannot measure here. The message says why and what to change."""


@dataclass
class BackendSettings:
    interval_ms: int = 100
    tegrastats_path: str = "tegrastats"
    rails: Optional[List[str]] = None  # config power.rails: override of the board-total rails
    sysfs_root: str = "/"  # prefix for /sys and /proc, so tests point it at a fake tree


class PowerBackend:
    """One power sensor. The sampler drives it as:

    probe()          cheap check with no side effects; raises BackendUnavailable(reason)
    start()          acquire the sensor (spawn the child, open files); raises BackendUnavailable
    samples(stop)    generator, run in the sampler's thread: Samples in time order until `stop` is set or
                     the source ends; a reading without a board total is skipped (the gap check sees it)
    stop()           release; called once after the sampler's thread has finished, safe to call twice
    rails            the rails summed into Sample.mw, known once the first sample exists
    period_s         nominal time between samples: the unit of the gap limit
    """

    name = ""

    def __init__(self, settings: BackendSettings):
        self.settings = settings
        self.rails: Optional[List[str]] = None

    @property
    def period_s(self) -> float:
        return self.settings.interval_ms / 1000.0

    def probe(self) -> None:
        pass

    def start(self) -> None:
        pass

    def samples(self, stop: threading.Event) -> Iterator[Sample]:
        return iter(())

    def stop(self) -> None:
        pass


def ticks(period_s: float, stop: threading.Event) -> Iterator[None]:
    """Yield every `period_s` on an absolute schedule (no drift); after a stall, skip missed ticks, no burst."""
    next_t = time.monotonic()
    while not stop.is_set():
        yield
        next_t += period_s
        now = time.monotonic()
        if next_t < now:
            next_t = now + period_s
        if stop.wait(next_t - now):
            return


class PolledBackend(PowerBackend):
    """A sensor read on demand: `read()` returns rail readings in mW (or None when this read failed)."""

    def read(self) -> Optional[Dict[str, float]]:
        raise NotImplementedError

    def samples(self, stop: threading.Event) -> Iterator[Sample]:
        rails = self.rails or []
        for _ in ticks(self.period_s, stop):
            readings = self.read()
            t = time.monotonic()
            if readings is not None:
                yield Sample(t, float(sum(readings[r] for r in rails)), readings)


class CounterBackend(PowerBackend):
    """A cumulative energy counter (NVML, RAPL): power is the counter's increase over each polling interval.

    The mean power of an interval belongs to its middle, so each sample is stamped there; the trapezoid rule
    over such samples is then second-order accurate, like sampled instantaneous power.
    """

    def read_mj(self) -> Optional[Dict[str, float]]:
        """Rail -> cumulative energy in mJ, or None when this read failed."""
        raise NotImplementedError

    def increase_mj(self, rail: str, before: float, after: float) -> Optional[float]:
        """Counter increase; subclasses handle wrap-around. None = not usable (e.g. a driver reset)."""
        return after - before if after >= before else None

    def samples(self, stop: threading.Event) -> Iterator[Sample]:
        rails = self.rails or []
        prev_t, prev = None, None
        for _ in ticks(self.period_s, stop):
            before = time.monotonic()
            counters = self.read_mj()
            t = (before + time.monotonic()) / 2.0
            if counters is None:
                prev = None  # do not bridge a failed read: the gap check must see it
                continue
            if prev is not None and t > prev_t:
                increases = {r: self.increase_mj(r, prev[r], counters[r]) for r in rails}
                if all(v is not None for v in increases.values()):
                    dt = t - prev_t
                    powers = {r: v / dt for r, v in increases.items()}  # mJ / s = mW
                    yield Sample((t + prev_t) / 2.0, float(sum(powers.values())), powers)
            prev_t, prev = t, counters
