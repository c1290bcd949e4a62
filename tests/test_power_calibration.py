"""The sensor's lag: fit from a stamped load step, stored per host, applied to every window."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest

from fake_tegrastats import install_fake_tegrastats
from slmbench.errors import UserError
from slmbench.power.calibration import burn, fit_lag, load_lag_ms
from slmbench.power.sampler import open_sampler

IDLE_MW, LOAD_MW = 3000.0, 8000.0
STEP = {"kind": "parent_load", "idle_mw": IDLE_MW, "busy_mw": LOAD_MW}


def _trace(lag_s, rise_s, phase_s, steps=8, period_s=0.1, seed=3):
    """Samples of a sensor that shows a step `lag_s` late, ramping over `rise_s`, and the stamped edges, placed
    as `slmbench power calibrate` places them: each at its own phase of the sampling period."""
    rng = random.Random(seed)
    edges = []
    for k in range(steps):
        grid = 10.0 + phase_s + k * 17 * period_s  # a sample arrives at every grid point
        edges += [(grid + (k + 0.5) / steps * period_s, 1), (grid + 8 * period_s + k / steps * period_s, -1)]
    t = edges[-1][0] + 0.8

    def ramp(x):
        return min(1.0, max(0.0, x / rise_s)) if rise_s else float(x >= 0)

    def load(x):  # 0..1 as the sensor shows it at arrival time x: each burst a ramp up, later a ramp down
        return sum(ramp(x - lag_s - on) - ramp(x - lag_s - off) for (on, _), (off, _) in zip(edges[::2], edges[1::2]))

    samples, x = [], edges[0][0] - 1.0 + phase_s
    while x < t + 0.5:
        samples.append((x, IDLE_MW + (LOAD_MW - IDLE_MW) * load(x)))
        x += period_s + rng.uniform(-0.001, 0.001)
    return samples, edges


@pytest.mark.parametrize("lag_ms, rise_ms", [(0, 0), (40, 0), (120, 0), (30, 60)])
def test_the_fit_finds_the_lag_of_a_known_sensor(lag_ms, rise_ms):
    samples, edges = _trace(lag_ms / 1000, rise_ms / 1000, phase_s=0.037)
    fit = fit_lag(samples, edges, 0.1, 0.8)
    # the lag is the delay of the rise's midpoint: what moves a sample back to the instant it describes
    assert fit["lag_ms"] == pytest.approx(lag_ms + rise_ms / 2, abs=10), fit
    assert fit["low_mw"] == pytest.approx(IDLE_MW) and fit["high_mw"] == pytest.approx(LOAD_MW)


def test_no_visible_step_is_refused_not_guessed():
    samples = [(10 + 0.1 * i, IDLE_MW) for i in range(200)]
    with pytest.raises(UserError, match="no step to fit"):
        fit_lag(samples, [(11.0, 1), (12.0, -1), (13.0, 1), (14.0, -1)], 0.1, 0.8)


def test_the_fake_sensor_really_delays_each_line(tmp_path, monkeypatch):
    exe = install_fake_tegrastats(tmp_path / "bin", STEP, delay_ms=80)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    with open_sampler("tegrastats", 100) as sampler:
        time.sleep(0.3)
        start, end = burn(0.6)
        time.sleep(0.4)
        trace = sampler.samples_between(start - 0.3, end + 0.3)
    high = [t - start for t, mw in trace if mw == LOAD_MW]
    # the first sample reading the load arrives at least the delay after the load began
    assert high and min(high) >= 0.075, trace
    assert max(high) >= end - start + 0.075 - 0.1  # and the load is still seen the delay after it ended


def test_calibrate_measures_the_fake_sensors_lag_and_the_window_uses_it(tmp_path, monkeypatch):
    exe = install_fake_tegrastats(tmp_path / "bin", STEP, delay_ms=40)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "power" / "calibration_h.json"
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from slmbench.cli import main; sys.exit(main())", "power", "calibrate",
         "--out", str(out), "--backend", "tegrastats", "--interval-ms", "100", "--steps", "6", "--idle-s", "0.5",
         "--burst-s", "0.5", "--threads", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    calibration = json.loads(out.read_text())
    assert calibration["lag_ms"] == pytest.approx(40, abs=10), calibration
    assert calibration["backend"] == "tegrastats" and calibration["interval_ms"] == 100
    assert "lags" in proc.stderr
    lag_ms, why = load_lag_ms(str(out), "tegrastats", 100)
    assert lag_ms == calibration["lag_ms"] and why is None
    # the same file does not apply to another sensor or cadence
    assert load_lag_ms(str(out), "ina3221", 100)[0] is None
    assert "rerun `slmbench power calibrate`" in load_lag_ms(str(out), "tegrastats", 10)[1]

    # a 0.35 s step: with the lag applied the window holds the load's energy; without, it misses part of it
    with open_sampler("tegrastats", 100) as sampler:
        errors = {0.0: [], lag_ms / 1000: []}
        for k in range(5):
            time.sleep(0.4 + 0.021 * k)
            start, end = burn(0.35)
            truth = (LOAD_MW - IDLE_MW) * (end - start) / 1000
            for lag in errors:
                sampler.lag_s = lag
                net = sampler.window(start, end).energy_j - IDLE_MW / 1000 * (end - start)
                errors[lag].append(abs(net / truth - 1))
            sampler.lag_s = 0.0
    # the median: one window on this shared machine may catch the fake sensor descheduled
    assert sorted(errors[lag_ms / 1000])[2] <= 0.02, errors
    assert sum(errors[0.0]) > sum(errors[lag_ms / 1000]), errors


def test_calibrate_without_a_sensor_writes_why(tmp_path):
    out = tmp_path / "calibration_h.json"
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from slmbench.cli import main; sys.exit(main())", "power", "calibrate",
         "--out", str(out), "--backend", "none"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    calibration = json.loads(out.read_text())
    assert calibration["lag_ms"] is None and "no power sensor" in calibration["note"]
    assert load_lag_ms(str(out), "none", 100) == (None, f"{out}: {calibration['note']}")


def test_the_doctor_says_whether_this_hosts_sensor_lag_is_measured(tmp_path):
    from pathlib import Path

    import yaml

    from slmbench.boards import host_id
    from slmbench.doctor import check_power_calibration

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    config["results_dir"] = str(tmp_path)
    assert check_power_calibration(config)[0].status == "info"  # not yet: the rule measures it
    path = tmp_path / "power" / f"calibration_{host_id()}.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"lag_ms": 41.5, "rise_ms": 0.0, "backend": "tegrastats"}))
    (check,) = check_power_calibration(config)
    assert check.status == "ok" and "41.5 ms" in check.detail
    config["power"]["calibration_steps"] = 0
    assert check_power_calibration(config)[0].status == "warn"
