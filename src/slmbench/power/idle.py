"""The idle baseline: the board's power at rest, subtracted from every inference's energy.

Settle first (a board that just finished work is still warm and clocked up), then sample for a fixed time.
The median is the baseline (robust to a stray spike); the interquartile range and the drift between the
first and last third say whether the board really was idle, and a warning is stored when it was not.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import datetime, timezone
from typing import List, Optional, Sequence

from ..boards import host_id  # noqa: F401 - re-exported: power.idle.host_id is public
from ..errors import UserError
from ..records import atomic_output
from .rails import read_board_model
from .sampler import open_sampler

IDLE_SCHEMA_VERSION = 1
MAX_IQR_SHARE = 0.10  # an IQR above 10 % of the median: something was running
MAX_DRIFT_SHARE = 0.10  # first vs last third differing by more than 10 %: the board had not settled
MIN_SAMPLES = 5


def measure_idle(backend: str, seconds: float, settle_seconds: float, interval_ms: int,
                 tegrastats_path: str = "tegrastats", rails: Optional[Sequence[str]] = None,
                 max_gap_factor: float = 3.0, sysfs_root: str = "/") -> dict:
    """Measure the idle baseline; with no power sensor the result has median_mw None and says why, at once."""
    if seconds <= 0 or settle_seconds < 0:
        raise UserError(f"power.idle_seconds ({seconds}) must be > 0 and power.settle_seconds ({settle_seconds}) "
                        f">= 0; fix them in the config")
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    sampler = open_sampler(backend, interval_ms, tegrastats_path, rails, max_gap_factor, sysfs_root)
    with sampler:
        powers: List[float] = []
        window = None
        if sampler.backend is not None:
            time.sleep(settle_seconds)
            t0 = time.monotonic()
            time.sleep(seconds)
            t1 = time.monotonic()
            window = sampler.window(t0, t1)
            powers = [p for _, p in sampler.samples_between(t0, t1)]
            if not powers:
                raise UserError(f"the {sampler.name} sensor gave no sample during the {seconds} s idle baseline "
                                f"({window.note}); check the sensor with `slmbench power measure --seconds 2 "
                                f"--backend {sampler.name}`")
        result = summarize(powers)
        result.update(
            host=host_id(), device=read_board_model(sysfs_root), backend=sampler.name, rails=sampler.rails,
            seconds=seconds, settle_seconds=settle_seconds, interval_ms=interval_ms, started_at=started_at,
            mean_mw=window.mean_power_mw if window is not None else None,
            note=sampler.note if window is None else window.note,
            schema_version=IDLE_SCHEMA_VERSION,
        )
    result["warning"] = idle_warning(powers, result["median_mw"], result["iqr_mw"]) if powers else None
    return result


def summarize(powers: Sequence[float]) -> dict:
    if not powers:
        return dict(median_mw=None, iqr_mw=None, p25_mw=None, p75_mw=None, min_mw=None, max_mw=None, n_samples=0)
    if len(powers) == 1:
        q1 = q3 = powers[0]
    else:
        q1, _, q3 = statistics.quantiles(powers, n=4, method="inclusive")
    return dict(median_mw=statistics.median(powers), iqr_mw=q3 - q1, p25_mw=q1, p75_mw=q3, min_mw=min(powers),
                max_mw=max(powers), n_samples=len(powers))


def idle_warning(powers: Sequence[float], median: float, iqr: float) -> Optional[str]:
    """Why this baseline may not be an idle board, or None."""
    problems = []
    scale = abs(median) or 1.0
    if len(powers) < MIN_SAMPLES:
        problems.append(f"only {len(powers)} samples: raise power.idle_seconds")
    if iqr > MAX_IQR_SHARE * scale:
        problems.append(f"idle power varied (IQR {iqr:.0f} mW, {100 * iqr / scale:.0f} % of the median "
                        f"{median:.0f} mW): something was running; stop other work and re-measure")
    third = len(powers) // 3
    if third >= 2:
        first, last = statistics.median(powers[:third]), statistics.median(powers[-third:])
        if abs(last - first) > MAX_DRIFT_SHARE * scale:
            problems.append(f"idle power drifted from {first:.0f} to {last:.0f} mW: the board had not settled; "
                            f"raise power.settle_seconds")
    return "; ".join(problems) or None


def write_idle(path: str, result: dict) -> None:
    with atomic_output(path) as fh:
        json.dump(result, fh, indent=2, sort_keys=True)
        fh.write("\n")


def load_idle(path: str) -> dict:
    """The idle JSON written by `slmbench power idle`; idle["median_mw"] is a float or None."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise UserError(f"cannot read the idle baseline {path} ({exc.strerror}); run the power_idle rule") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); delete it to re-measure") from None
    if not isinstance(data, dict) or "median_mw" not in data:
        raise UserError(f"{path}: no median_mw key (not an idle baseline written by `slmbench power idle`); "
                        f"delete it to re-measure")
    median = data["median_mw"]
    if median is not None and (isinstance(median, bool) or not isinstance(median, (int, float))):
        raise UserError(f"{path}: median_mw must be a number or null, found {median!r}; delete it to re-measure")
    if median is not None:
        data["median_mw"] = float(median)
    return data


def idle_mismatch(idle: dict, power_source: str, rails: Optional[Sequence[str]]) -> Optional[str]:
    """Why this baseline cannot be subtracted from a run measured by `power_source` over `rails`, or None.

    A baseline of other rails or another sensor would turn the net energy into a difference of two
    different quantities.
    """
    if idle.get("median_mw") is None:
        return None
    same = idle.get("backend") == power_source and list(idle.get("rails") or []) == list(rails or [])
    if same:
        return None
    return (f"idle baseline measured with {idle.get('backend')} {idle.get('rails')}, but this run measures "
            f"{power_source} {list(rails or [])}; delete the idle_<host>.json to re-measure it")


def report(result: dict, path: str) -> None:
    """One line on stderr (the rule's log) per baseline, and the warning, if any."""
    median = result["median_mw"]
    what = f"{median:.0f} mW (IQR {result['iqr_mw']:.0f} mW, {result['n_samples']} samples, {result['backend']})" \
        if median is not None else f"not measured: {result['note']}"
    print(f"idle baseline {path}: {what}", file=sys.stderr)
    if result.get("warning"):
        print(f"slmbench: warning: idle baseline: {result['warning']}", file=sys.stderr)
