"""One long-lived power sampler: a background thread fills a bounded buffer; windows are integrated on demand.

    sampler = open_sampler(backend="auto", interval_ms=100)
    with sampler:                          # starts the sensor; stops only what it started
        t0 = time.monotonic(); ...; t1 = time.monotonic()
        w = sampler.window(t0, t1)         # PowerWindow: energy_j, mean_power_mw, n_samples, note

Every sample is stamped with time.monotonic() when it arrives, so windows use the same clock as the caller
and are immune to wall-clock steps (NTP, a board without RTC setting its date after boot). A sample describes
the board a little before it arrives (the sensor's lag, measured by `slmbench power calibrate`): with `lag_s`
set, every window and every sample time is moved back by it, so a window holds what the board drew inside it.
"""

from __future__ import annotations

import dataclasses
import difflib
import threading
import time
from bisect import bisect_left, bisect_right
from typing import List, Optional, Sequence, Tuple

from ..errors import UserError
from .backends import AUTO_ORDER, BACKEND_NAMES, BACKENDS, BackendSettings, BackendUnavailable, PowerBackend
from .integration import PowerWindow, integrate_energy, not_measured

BUFFER_SECONDS = 1800.0  # longest window that can be measured; also bounds memory (~15 MB at 10 ms)
MIN_BUFFER = 1000
STARTUP_MIN_S = 3.0  # how long start waits for the first reading (real tegrastats needs a moment)
WAIT_SLACK_S = 0.1  # scheduling slack when waiting for the sample after a window
MAX_RESTARTS = 5  # a sensor that dies mid-shard is restarted this often; windows over the gap stay null


class PowerSampler:
    """Samples one backend in a thread. `name`, `rails` and `note` say what is (or is not) measured."""

    def __init__(self, candidates: Sequence[PowerBackend], explicit: bool, max_gap_factor: float = 3.0,
                 note: Optional[str] = None, buffer_seconds: float = BUFFER_SECONDS):
        self._candidates = list(candidates)
        self._explicit = explicit
        self.max_gap_factor = float(max_gap_factor)
        self.buffer_seconds = buffer_seconds
        self.backend: Optional[PowerBackend] = self._candidates[0] if self._candidates else None
        self.note = note
        self._times: List[float] = []
        self._powers: List[float] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._failure: Optional[str] = None
        self.restarts: List[str] = []  # why the sensor was restarted, once per restart
        self.lag_s = 0.0  # the sensor's lag (power calibration): a sample describes the board this much earlier
        self.lag_calibrated = False  # lag_s comes from this host's calibration (else: sample times as they arrived)

    @property
    def name(self) -> str:
        return self.backend.name if self.backend is not None else "none"

    @property
    def rails(self) -> Optional[List[str]]:
        return list(self.backend.rails) if self.backend is not None and self.backend.rails else None

    @property
    def max_gap_s(self) -> Optional[float]:
        return self.max_gap_factor * self.backend.period_s if self.backend is not None else None

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> "PowerSampler":
        reasons = []
        for backend in self._candidates:
            reason = self._start(backend)
            if reason is None:
                self.backend = backend
                return self
            if self._explicit:
                raise UserError(f"power.backend is {backend.name}, but {reason}")
            reasons.append(f"{backend.name}: {reason.split('; ')[0]}")
        if self._candidates:
            self.backend = None
            self.note = f"no power sensor: auto found no working backend ({'; '.join(reasons)})"
        return self

    def __exit__(self, *exc_info) -> None:
        self._halt()
        for candidate in self._candidates:  # probing may have acquired something (NVML); release it
            candidate.stop()

    def _start(self, backend: PowerBackend) -> Optional[str]:
        """Start `backend` and wait for its first sample; None on success, else the reason it failed."""
        self._reset()
        try:
            backend.start()
        except BackendUnavailable as exc:
            return str(exc)
        self.backend = backend
        self._thread = threading.Thread(target=self._run, name=f"power-{backend.name}", daemon=True)
        self._thread.start()
        timeout = max(STARTUP_MIN_S, 10 * backend.period_s)
        with self._cond:
            self._cond.wait_for(lambda: self._times or self._failure is not None, timeout=timeout)
            ok = bool(self._times)
        if ok:
            return None
        self._halt()
        if self._failure:
            return self._failure
        describe = getattr(backend, "describe_failure", None)
        reason = (describe() if describe else None) or "no power reading"
        return f"{reason} within {timeout:.1f} s"

    def _run(self) -> None:
        """Feed samples until stopped. A sensor that dies (tegrastats exits, a read fails) is restarted: the
        windows over the gap have no bracketing samples and stay null, every later window is measured."""
        backend = self.backend
        while True:
            try:
                for sample in backend.samples(self._stop):
                    self._append(sample.t, sample.mw)
                reason = getattr(backend, "exit_note", None) or f"{backend.name} stopped delivering samples"
            except Exception as exc:  # noqa: BLE001 - a sensor failure must not kill the shard; the note says why
                reason = f"{backend.name} sampler failed: {type(exc).__name__}: {exc}"
            if self._stop.is_set() or not self._times or len(self.restarts) >= MAX_RESTARTS:
                break  # stopped, never worked (the start reports it), or keeps dying
            if not self._restart(backend, reason):
                reason = f"{reason}; restarting it failed"
                break
        with self._cond:
            if not self._stop.is_set():
                self._failure = reason
            self._cond.notify_all()

    def _restart(self, backend: PowerBackend, reason: str) -> bool:
        self.restarts.append(reason)
        backend.stop()
        if self._stop.wait(min(1.0, 2 * backend.period_s)):
            return False
        try:
            backend.start()
        except BackendUnavailable:
            return False
        return True

    def _append(self, t: float, mw: float) -> None:
        with self._cond:
            self._times.append(t)
            self._powers.append(mw)
            cap = max(MIN_BUFFER, int(self.buffer_seconds / self.backend.period_s))
            if len(self._times) > 2 * cap:  # trim in halves: amortised O(1), bisect stays valid
                del self._times[:-cap]
                del self._powers[:-cap]
            self._cond.notify_all()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.backend is not None:
            self.backend.stop()

    def _reset(self) -> None:
        self._stop = threading.Event()
        self._failure = None
        self._times, self._powers = [], []

    # -- measurements ----------------------------------------------------------------------------------
    def window(self, t0: float, t1: float) -> PowerWindow:
        """Energy over [t0, t1] (time.monotonic). Waits at most one gap limit for the sample after t1.

        The samples that describe [t0, t1] arrived over [t0 + lag, t1 + lag]: that span is integrated."""
        if self.backend is None:
            return not_measured(t0, t1, self.note or "no power sensor")
        measured = self._arrival_window(t0 + self.lag_s, t1 + self.lag_s)
        return dataclasses.replace(measured, t0=t0, t1=t1)

    def _arrival_window(self, t0: float, t1: float) -> PowerWindow:
        deadline = max(time.monotonic(), t1 + self.max_gap_s) + WAIT_SLACK_S
        with self._cond:
            while not (self._times and self._times[-1] >= t1) and self._failure is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    break
            times, powers = self._slice(t0, t1)
            failure = self._failure
        result = integrate_energy(times, powers, t0, t1, self.max_gap_s)
        if result.energy_j is None and failure:
            return not_measured(t0, t1, f"{result.note}; {failure}", result.n_samples)
        return result

    def samples_between(self, t0: float, t1: float) -> List[Tuple[float, float]]:
        """(time, mW) of every sample describing an instant within [t0, t1] (arrival time less the lag)."""
        lag = self.lag_s
        with self._cond:
            lo, hi = bisect_left(self._times, t0 + lag), bisect_right(self._times, t1 + lag)
            return [(t - lag, p) for t, p in zip(self._times[lo:hi], self._powers[lo:hi])]

    def _slice(self, t0: float, t1: float) -> Tuple[List[float], List[float]]:
        """The samples from the one at or before t0 to the one at or after t1 (caller holds the lock)."""
        lo = max(0, bisect_right(self._times, t0) - 1)
        hi = bisect_left(self._times, t1) + 1
        return self._times[lo:hi], self._powers[lo:hi]


def open_sampler(backend: str = "auto", interval_ms: int = 100, tegrastats_path: str = "tegrastats",
                 rails: Optional[Sequence[str]] = None, max_gap_factor: float = 3.0,
                 sysfs_root: str = "/") -> PowerSampler:
    """A sampler for the named backend (not started: use it as a context manager).

    An explicitly named backend that is unavailable raises UserError now, before any inference; `auto`
    keeps the first backend that works and `none` (or auto finding nothing) measures nothing, with a note.
    """
    check_settings(backend, interval_ms, max_gap_factor)
    settings = BackendSettings(int(interval_ms), tegrastats_path, list(rails) if rails else None, sysfs_root)
    if backend == "none":
        return PowerSampler([], explicit=True, max_gap_factor=max_gap_factor,
                            note="no power sensor: power.backend is none")
    names = AUTO_ORDER if backend == "auto" else [backend]
    candidates, reasons = [], []
    for name in names:
        candidate = BACKENDS[name](settings)
        try:
            candidate.probe()
        except BackendUnavailable as exc:
            if backend != "auto":
                raise UserError(f"power.backend is {name}, but {exc}") from None
            reasons.append(f"{name}: {str(exc).split('; ')[0]}")  # the what, without each backend's remedy
            continue
        candidates.append(candidate)
    note = None if candidates else f"no power sensor: auto found no backend ({'; '.join(reasons)})"
    return PowerSampler(candidates, explicit=backend != "auto", max_gap_factor=max_gap_factor, note=note)


def check_settings(backend: str, interval_ms: float, max_gap_factor: float) -> None:
    if backend not in BACKEND_NAMES:
        close = difflib.get_close_matches(str(backend), BACKEND_NAMES, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UserError(f"power.backend {backend!r} is unknown; {hint}choose one of {', '.join(BACKEND_NAMES)}")
    if not interval_ms or interval_ms <= 0:
        raise UserError(f"power.interval_ms is {interval_ms}; it must be a positive number of milliseconds")
    if max_gap_factor is None or max_gap_factor <= 1:
        raise UserError(f"power.max_gap_factor is {max_gap_factor}; it must be greater than 1")
