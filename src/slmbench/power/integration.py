"""Energy of a time window from power samples: trapezoid rule, the inside samples held out to the edges.

A 0.5 s inference sampled every 100 ms holds about five samples. Integrating only the samples inside the
window drops up to one sampling period of energy at each edge (tens of percent). Interpolating the power at
the edges from the samples that bracket them recovers it for a smooth load, but an inference is a *step*:
the load switches on at the window's start and off at its end, so the sample before the start (and the one
after the end) reads idle power, and interpolating towards it under-counts by up to half a sampling period
of load at each edge (-10 % of net energy at 0.35 s windows with 100 ms sampling). Holding the first and
last inside samples out to the edges is exact on a step and within a fraction of a percent on smooth loads
(benchmarks/energy_accuracy.py measures both). A window with no sample inside falls back to interpolation.
A window that is not bracketed by samples, or that contains a gap longer than the limit (a stalled or
restarted sensor), is not measured: its energy is None and `note` says why — a guess would look like a
measurement.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class PowerWindow:
    """Energy over [t0, t1] (time.monotonic seconds). Units are in the field names; None = not measured."""

    t0: float
    t1: float
    energy_j: Optional[float]  # gross: everything the measured rails drew, idle included
    mean_power_mw: Optional[float]  # energy_j / duration
    n_samples: Optional[int]  # samples stamped inside [t0, t1]; the bracketing ones outside are not counted
    note: Optional[str] = None  # why energy_j is None, when it is

    @property
    def duration_s(self) -> float:
        return self.t1 - self.t0


def not_measured(t0: float, t1: float, note: str, n_samples: Optional[int] = None) -> PowerWindow:
    return PowerWindow(t0, t1, None, None, n_samples, note)


def integrate_energy(times: Sequence[float], powers_mw: Sequence[float], t0: float, t1: float,
                     max_gap_s: Optional[float] = None) -> PowerWindow:
    """Trapezoid integral of power over [t0, t1], the first and last inside samples held out to the edges.

    `times` must be sorted ascending. Only the samples from the last one at or before t0 to the first one at
    or after t1 are used, so callers may pass a longer trace.
    """
    if t1 < t0:
        raise ValueError(f"window ends ({t1}) before it starts ({t0})")
    first = bisect_right(times, t0) - 1  # last sample at or before t0
    last = bisect_left(times, t1)  # first sample at or after t1
    inside = bisect_right(times, t1) - bisect_left(times, t0)
    if not times:
        return not_measured(t0, t1, "no power samples were received", 0)
    if first < 0:
        return not_measured(t0, t1, f"window starts {times[0] - t0:.3f} s before the first power sample", inside)
    if last >= len(times):
        return not_measured(t0, t1, f"no power sample at or after the window end (last one {t1 - times[-1]:.3f} s "
                                    f"before it): the sensor stalled or stopped", inside)
    seg_t = list(times[first:last + 1])
    seg_p = list(powers_mw[first:last + 1])
    gap = max_gap(seg_t)
    if max_gap_s is not None and gap > max_gap_s * (1 + 1e-9):
        return not_measured(t0, t1, f"a {gap * 1000:.0f} ms gap between power samples inside the window exceeds "
                                    f"the limit of {max_gap_s * 1000:.0f} ms (power.max_gap_factor x interval)",
                            inside)
    energy_mj = trapezoid(clip_to_window(seg_t, seg_p, t0, t1))
    duration = t1 - t0
    mean = energy_mj / duration if duration > 0 else interpolate(seg_t, seg_p, t0)
    return PowerWindow(t0, t1, energy_mj / 1000.0, mean, inside, None)


def clip_to_window(seg_t: List[float], seg_p: List[float], t0: float, t1: float) -> List[Tuple[float, float]]:
    """The samples inside [t0, t1] plus points exactly at t0 and t1 carrying the nearest inside sample's value.

    Without an inside sample (a window shorter than the sampling period) the edge values are interpolated
    between the bracketing samples: the only estimate left, and exact for a constant load.
    """
    inside = [(t, p) for t, p in zip(seg_t, seg_p) if t0 <= t <= t1]
    if not inside:
        return [(t0, interpolate(seg_t, seg_p, t0)), (t1, interpolate(seg_t, seg_p, t1))]
    return [(t0, float(inside[0][1]))] + inside + [(t1, float(inside[-1][1]))]


def interpolate(seg_t: Sequence[float], seg_p: Sequence[float], t: float) -> float:
    """Power at time t, linear between the two samples around it (t lies within seg_t's span)."""
    k = max(0, min(bisect_right(seg_t, t) - 1, len(seg_t) - 2))
    if len(seg_t) == 1 or seg_t[k + 1] == seg_t[k]:
        return float(seg_p[k])
    frac = (t - seg_t[k]) / (seg_t[k + 1] - seg_t[k])
    return seg_p[k] + frac * (seg_p[k + 1] - seg_p[k])


def trapezoid(points: Sequence[Tuple[float, float]]) -> float:
    """Integral of piecewise-linear (t, value) points: value-units x seconds (mW x s = mJ)."""
    return sum((tb - ta) * (pa + pb) / 2.0 for (ta, pa), (tb, pb) in zip(points, points[1:]))


def max_gap(times: Sequence[float]) -> float:
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)
