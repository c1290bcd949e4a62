"""The power sensor's lag, measured with a known load step and applied to every window.

A sample is stamped when it arrives, but it describes the board some time earlier: tegrastats reads the rails,
formats a line and writes it; an INA3221 averages over its conversion time. With 20 ms between reading and
arrival the prefill energy (the part the prompt level drives) reads -8 %, with 50 ms -25 %. So the lag is
measured, not assumed: idle, then a CPU burst whose start and stop are stamped with time.monotonic(), then idle,
a few times with seeded idle lengths (so the edges fall at every phase of the sampling period). The trace is fit
to the step seen through a dead time and a linear rise; `lag_ms` is the delay of the rise's midpoint, the shift
that moves each sample back to the instant it describes (`PowerSampler.lag_s`). The result is stored per host
(power/calibration_<host>.json) and every record carries the lag applied (`power_lag_ms`).

Stdlib only and Python 3.10 compatible (the inference step reads the calibration under JetPack's Python).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import threading
import time
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import UserError
from ..records import atomic_output

CALIBRATION_SCHEMA_VERSION = 1
MAX_LAG_MS = 500  # the fit's search range: a sensor later than this is broken, not lagging
MAX_RISE_MS = 300
MIN_STEP_SHARE = 0.03  # a burst must raise the board power by at least 3 % to be told from idle noise
_CHUNK = os.urandom(1 << 18)  # 256 kB: sha256 of it releases the GIL and takes about a millisecond

Edge = Tuple[float, int]  # (stamped time.monotonic() seconds, +1 load on / -1 load off)


def burn_until(deadline: float, threads: int = 1) -> Tuple[float, float]:
    """Load the CPU until `deadline` (time.monotonic) on `threads` cores, the calling thread one of them;
    returns the (start, stop) stamps. hashlib releases the GIL on large buffers, so helper threads load their
    cores while this one does."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            hashlib.sha256(_CHUNK).digest()

    helpers = [threading.Thread(target=spin, daemon=True) for _ in range(max(0, threads - 1))]
    start = time.monotonic()
    for helper in helpers:
        helper.start()
    while time.monotonic() < deadline:
        hashlib.sha256(_CHUNK).digest()
    end = time.monotonic()
    stop.set()
    for helper in helpers:
        helper.join()
    return start, end


def burn(seconds: float, threads: int = 1) -> Tuple[float, float]:
    """Load the CPU for `seconds` (see burn_until)."""
    return burn_until(time.monotonic() + seconds, threads)


def _at_phase(planned: float, phase_s: float, sampler, period_s: float) -> float:
    """The first time at or after `planned` that lies `phase_s` after a sample's arrival (on the sensor's
    cadence, extrapolated from the latest sample)."""
    recent = sampler.samples_between(time.monotonic() - 3 * period_s, time.monotonic())
    if not recent:
        return planned
    return planned + (phase_s - (planned - recent[-1][0])) % period_s


def step_load(sampler, steps: int, idle_s: float, burst_s: float, threads: int, seed: int) -> List[Edge]:
    """Idle, burst, idle ... (`steps` bursts). Each edge is placed at its own phase of the sampling period,
    spread evenly over the period (seeded order), so a sensor that only says "before" or "after" still pins the
    lag to a period / steps. Returns the stamped edges."""
    period = sampler.backend.period_s
    rng = random.Random(seed)
    on_phases = [(k + 0.5) / steps * period for k in range(steps)]
    off_phases = [k / steps * period for k in range(steps)]  # the two kinds interleave: period / (2 steps) apart
    rng.shuffle(on_phases)
    rng.shuffle(off_phases)
    edges: List[Edge] = []
    planned = time.monotonic() + idle_s
    for on_phase, off_phase in zip(on_phases, off_phases):
        start_at = _at_phase(planned, on_phase, sampler, period)
        time.sleep(max(0.0, start_at - time.monotonic()))
        start, end = burn_until(_at_phase(start_at + burst_s, off_phase, sampler, period), threads)
        edges += [(start, +1), (end, -1)]
        planned = end + idle_s
    time.sleep(max(0.0, planned - time.monotonic()))
    return edges


def step_levels(samples: Sequence[Tuple[float, float]], edges: Sequence[Edge],
                idle_s: float) -> Tuple[float, float]:
    """(idle mW, load mW): medians of the second half of every idle and every burst period, where any lag the
    fit may find has long passed."""
    low: List[float] = []
    high: List[float] = []
    begin = edges[0][0] - idle_s
    for t_edge, direction in edges:  # the period before a rising edge is idle, before a falling one loaded
        mid = (begin + t_edge) / 2
        (low if direction > 0 else high).extend(p for t, p in samples if mid <= t < t_edge)
        begin = t_edge
    if not low or not high:
        raise UserError("the power trace has no samples inside the idle or load periods; lengthen --idle-s and "
                        "--burst-s (at least 4 sampling periods each)")
    return statistics.median(low), statistics.median(high)


def _edge_loss(points: Sequence[Tuple[float, int, float]], dead_s: float, rise_s: float) -> float:
    loss = 0.0
    for d, direction, y in points:
        x = d - dead_s
        r = 0.0 if x <= 0 else (1.0 if x >= rise_s else x / rise_s)
        predicted = r if direction > 0 else 1.0 - r
        loss += (y - predicted) ** 2
    return loss


def fit_lag(samples: Sequence[Tuple[float, float]], edges: Sequence[Edge], period_s: float,
            idle_s: float) -> Dict[str, float]:
    """Dead time and rise time of the sensor from a stamped step load: least squares over a 1 ms grid.

    Each sample near an edge is normalised to 0 (idle) .. 1 (load) and compared with the step delayed by the dead
    time and spread over the rise. A sample reads either side of the edge, so an ideal sensor leaves a range of
    equally good dead times (one per phase the edges happened to fall at): its middle is taken."""
    low, high = step_levels(samples, edges, idle_s)
    if high - low < MIN_STEP_SHARE * max(abs(low), 1.0):
        raise UserError(f"the load step raised the board power only from {low:.0f} to {high:.0f} mW: no step to fit "
                        f"(an idle board? a sensor that does not see the CPU?); run `slmbench power calibrate` with "
                        f"more --threads, or on the board itself")
    # each edge's samples run half way to the next edge (the levels' periods start there): a lag plus rise of up
    # to half the shortest period can be fit
    half = min(b - a for (a, _), (b, _) in zip(edges, edges[1:] + [(edges[-1][0] + idle_s, 0)])) / 2
    max_lag_ms = min(MAX_LAG_MS, int(half * 1000) - 1)
    points = []
    for t_edge, direction in edges:
        for t, p in samples:
            if t_edge - period_s <= t <= t_edge + half:
                points.append((t - t_edge, direction, (p - low) / (high - low)))
    grid = []
    for rise_ms in range(0, min(MAX_RISE_MS, max_lag_ms) + 1, 10):
        losses = [(_edge_loss(points, dead_ms / 1000.0, rise_ms / 1000.0), dead_ms)
                  for dead_ms in range(0, max_lag_ms - rise_ms + 1)]
        grid.append((rise_ms, losses))
    best = min(loss for _, losses in grid for loss, _ in losses)
    tolerance = 1e-9 + 1e-6 * best
    rise_ms, losses = next((r, ls) for r, ls in grid if min(loss for loss, _ in ls) <= best + tolerance)
    flat = [dead for loss, dead in losses if loss <= best + tolerance]
    dead_ms = (min(flat) + max(flat)) / 2.0
    return {"lag_ms": round(dead_ms + rise_ms / 2.0, 1), "dead_time_ms": round(dead_ms, 1),
            "rise_ms": float(rise_ms), "low_mw": round(low, 1), "high_mw": round(high, 1),
            "rms_residual": round((best / max(1, len(points))) ** 0.5, 4), "edge_samples": len(points)}


def calibrate(sampler, steps: int = 8, idle_s: float = 1.0, burst_s: float = 1.0, threads: Optional[int] = None,
              seed: int = 0) -> dict:
    """Run the step load on a started sampler and fit it; a result with lag_ms None says why it could not."""
    result = {"backend": sampler.name, "steps": steps, "idle_s": idle_s, "burst_s": burst_s,
              "threads": threads or os.cpu_count() or 1, "seed": seed, "lag_ms": None, "dead_time_ms": None,
              "rise_ms": None, "note": None, "schema_version": CALIBRATION_SCHEMA_VERSION,
              "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if sampler.backend is None:
        result["note"] = f"not calibrated: {sampler.note or 'no power sensor'}"
        return result
    period = sampler.backend.period_s
    result["interval_ms"] = round(period * 1000)
    if steps <= 0:
        result["note"] = "not calibrated: no load steps asked for (power.calibration_steps is 0)"
        return result
    if min(idle_s, burst_s) < 4 * period:
        raise UserError(f"--idle-s {idle_s} and --burst-s {burst_s} must each be at least 4 sampling periods "
                        f"({4 * period:g} s): the levels are read from their second halves")
    edges = step_load(sampler, steps, idle_s, burst_s, result["threads"], seed)
    time.sleep(MAX_LAG_MS / 1000.0 + 2 * period)  # the last edge's samples arrive late by the lag itself
    samples = sampler.samples_between(edges[0][0] - idle_s, time.monotonic())
    result["edges"] = [[round(t - edges[0][0], 4), d] for t, d in edges]
    try:
        result.update(fit_lag(samples, edges, period, idle_s))
    except UserError as exc:
        result["note"] = f"not calibrated: {exc}"
    return result


def write_calibration(path: str, result: dict) -> None:
    with atomic_output(path) as fh:
        json.dump(result, fh, indent=2, sort_keys=True)
        fh.write("\n")


def load_lag_ms(path: Optional[str], backend: str, interval_ms: int) -> Tuple[Optional[float], Optional[str]]:
    """(lag in ms to apply, or None; why not, when None) from a calibration file made for this sensor."""
    if not path:
        return None, "no power calibration given"
    try:
        with open(path, encoding="utf-8") as fh:
            calibration = json.load(fh)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the power calibration ({exc}); rerun `slmbench power calibrate "
                        f"--out {path}` on the board") from None
    lag = calibration.get("lag_ms")
    if lag is None:
        return None, f"{path}: {calibration.get('note') or 'no lag measured'}"
    if calibration.get("backend") != backend or calibration.get("interval_ms") != interval_ms:
        return None, (f"{path} was measured with {calibration.get('backend')} at {calibration.get('interval_ms')} ms, "
                      f"the study samples {backend} at {interval_ms} ms; rerun `slmbench power calibrate`")
    return float(lag), None
