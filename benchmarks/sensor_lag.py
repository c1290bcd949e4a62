"""Does `slmbench power calibrate` find a sensor's lag, and does applying it make step windows exact?

Known truth: a fake tegrastats (tests/fake_tegrastats.py) reads the board power as high while the process that
started it has its main thread on a CPU and low otherwise, and writes each line `--delay-ms` (40) after reading
it, so every sample arrives that much after the instant it describes. Then:
1. `slmbench power calibrate` (the real command, a subprocess) runs its stamped load steps against that fake:
   the lag it reports against the delay;
2. this process runs CPU bursts of --window-s (0.35 s, a short inference) and measures each one's net energy
   (gross - idle x duration) twice, with the sample times as they arrived and moved back by the calibrated lag,
   against the truth (load - idle) x duration: the error of each, as the worst over --windows bursts.

Run: python benchmarks/sensor_lag.py [--delay-ms 40] [--steps 8] [--windows 20] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sizes import parse_sizes

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from fake_tegrastats import install_fake_tegrastats  # noqa: E402
from slmbench.power.calibration import burn  # noqa: E402
from slmbench.power.sampler import open_sampler  # noqa: E402

IDLE_MW, LOAD_MW = 3000.0, 8000.0


def calibrate(directory: Path, steps: int, idle_s: float, burst_s: float) -> dict:
    out = directory / "calibration_bench.json"
    command = [sys.executable, "-c", "import sys; from slmbench.cli import main; sys.exit(main())", "power",
               "calibrate", "--out", str(out), "--backend", "tegrastats", "--interval-ms", "100", "--steps",
               str(steps), "--idle-s", str(idle_s), "--burst-s", str(burst_s), "--threads", "1"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.read_text())


def step_errors(lag_ms: float, windows: int, window_s: float, seed: int) -> dict:
    """Worst and mean absolute error (%) of the net energy of `windows` bursts, uncorrected and corrected."""
    rng = random.Random(seed)
    errors = {"uncorrected": [], "corrected": []}
    with open_sampler("tegrastats", 100) as sampler:
        time.sleep(0.5)
        for _ in range(windows):
            time.sleep(0.4 + rng.uniform(0, 0.1))  # a random phase of the sampling period at each edge
            start, end = burn(window_s)
            truth = (LOAD_MW - IDLE_MW) * (end - start) / 1000.0
            for name, lag in (("uncorrected", 0.0), ("corrected", lag_ms / 1000.0)):
                sampler.lag_s = lag
                window = sampler.window(start, end)
                net = window.energy_j - IDLE_MW / 1000.0 * (end - start)
                errors[name].append(100.0 * abs(net / truth - 1))
            sampler.lag_s = 0.0
    return {name: (max(values), sum(values) / len(values)) for name, values in errors.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=40.0, help="the fake sensor's lag (the truth)")
    parser.add_argument("--steps", type=int, default=8, help="calibration load steps")
    parser.add_argument("--idle-s", type=float, default=0.6)
    parser.add_argument("--burst-s", type=float, default=0.6)
    parser.add_argument("--windows", type=int, default=20, help="0.35 s bursts measured after calibrating")
    parser.add_argument("--window-s", type=float, default=0.35)
    parser.add_argument("--seed", type=int, default=1)
    args = parse_sizes(parser, argv, smoke={"steps": 3, "idle_s": 0.5, "burst_s": 0.5, "windows": 3})
    with tempfile.TemporaryDirectory() as tmp:
        exe = install_fake_tegrastats(Path(tmp) / "bin", {"kind": "parent_load", "idle_mw": IDLE_MW,
                                                          "busy_mw": LOAD_MW}, delay_ms=args.delay_ms)
        os.environ["PATH"] = f"{exe.parent}{os.pathsep}{os.environ['PATH']}"
        started = time.monotonic()
        calibration = calibrate(Path(tmp), args.steps, args.idle_s, args.burst_s)
        calibrate_s = time.monotonic() - started
        lag = calibration["lag_ms"]
        errors = step_errors(lag, args.windows, args.window_s, args.seed)
    print(f"fake tegrastats at 100 ms, each line {args.delay_ms:g} ms late; {args.steps} load steps "
          f"({calibrate_s:.1f} s)")
    print(f"  calibrate: lag {lag:g} ms (dead time {calibration['dead_time_ms']:g} ms, rise {calibration['rise_ms']:g} "
          f"ms), error {lag - args.delay_ms:+.1f} ms (goal: within 10 ms)")
    for name, (worst, mean) in errors.items():
        print(f"  {args.window_s:g} s step windows, net energy, {name:11s}: worst {worst:5.2f} %, mean {mean:5.2f} % "
              f"({args.windows} windows)")
    ok = abs(lag - args.delay_ms) <= 10 and errors["corrected"][0] <= 2.0
    print(f"Acceptance: {'PASS' if ok else 'FAIL'} (lag within 10 ms, corrected worst error <= 2 %)")
    print(json.dumps({
        "sensor_lag_ms": lag,
        "sensor_lag_err_ms": round(abs(lag - args.delay_ms), 2),
        "sensor_lag_step_err_pct_corrected": round(errors["corrected"][0], 3),
        "sensor_lag_step_err_pct_uncorrected": round(errors["uncorrected"][0], 3),
        "sensor_lag_calibrate_s": round(calibrate_s, 1),
    }))
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
