"""A fake `tegrastats` executable for tests: a real process that honours `--interval` and prints a
programmable power profile in the line format of a chosen JetPack.

    exe = install_fake_tegrastats(tmp_path / "bin", profile_mw=5000, fmt="jp6")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")

Profiles (the board total in mW):
- a number: constant;
- a list of numbers: one per line, cycling;
- {"kind": "sine", "mean_mw": m, "amplitude_mw": a, "period_s": p}: m + a sin(2 pi t / p);
- {"kind": "square", "low_mw": lo, "high_mw": hi, "period_s": p}: lo, then hi, each for p/2;
- {"kind": "ramp", "start_mw": s, "slope_mw_per_s": k}: s + k x (seconds since the fake started);
- {"kind": "parent_load", "idle_mw": lo, "busy_mw": hi}: hi while the process that started the fake (the
  sampler's) has its main thread on a CPU ("R" in /proc/<ppid>/stat), else lo: a board whose power follows
  the load the process under test puts on it (`slmbench power calibrate`'s stamped bursts);
with t = time.monotonic(), a clock the fake shares with the process under test (CLOCK_MONOTONIC is
system-wide on Linux), so `expected_energy_j(profile, t0, t1)` gives the exact energy of any window.

The fake appends one JSON line per event to `calls_path(directory)`: {"event": "start", "argv", "pid"},
{"event": "terminated", "pid"} on SIGTERM, {"event": "stop-all"} if ever run with `--stop`.
`late_line=n, late_s=s`: line n comes s seconds late, once (an isolated late sample on a loaded board).
`delay_ms=d`: every line is written d ms after the power it carries was read (a sensor's lag), so a sample
stamped on arrival describes the board d ms earlier; the file `tegrastats.delay_ms` beside the fake, when
present, overrides it at start.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from pathlib import Path
from typing import List, Optional, Union

Profile = Union[float, int, List[float], dict]
FORMATS = ("jp4", "agx_xavier", "jp5", "jp6", "jp7", "unknown_board")

SCRIPT = r'''#!__PYTHON__
import json, math, os, signal, sys, time

CONFIG = json.loads(__CONFIG__)
CALLS = CONFIG["calls_path"]
STARTED = time.monotonic()


def record(event, **fields):
    with open(CALLS, "a") as fh:
        fh.write(json.dumps(dict(event=event, pid=os.getpid(), **fields)) + "\n")


def on_term(signum, frame):
    record("terminated")
    os._exit(0)


def power_at(profile, t, i):
    if isinstance(profile, (int, float)):
        return float(profile)
    if isinstance(profile, list):
        return float(profile[i % len(profile)])
    if profile["kind"] == "sine":
        return profile["mean_mw"] + profile["amplitude_mw"] * math.sin(2 * math.pi * t / profile["period_s"])
    if profile["kind"] == "ramp":
        return profile["start_mw"] + profile["slope_mw_per_s"] * (t - STARTED)
    if profile["kind"] == "parent_load":
        return float(profile["busy_mw"] if parent_busy() else profile["idle_mw"])
    if profile["kind"] == "square":
        high = (t % profile["period_s"]) >= profile["period_s"] / 2
        return float(profile["high_mw"] if high else profile["low_mw"])
    raise SystemExit("unknown profile")


def parent_busy():
    try:
        with open(f"/proc/{os.getppid()}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "R"
    except OSError:
        return False


def split(total, shares):
    parts = [int(round(total * s)) for s in shares[:-1]]
    return parts + [total - sum(parts)]


def render(fmt, mw, avg, peak, i):
    date = time.strftime("%m-%d-%Y %H:%M:%S ")
    if fmt == "jp4":
        gpu, cpu = int(mw * 0.2), int(mw * 0.3)
        return ("RAM 1922/3956MB (lfb 114x4MB) SWAP 0/1978MB (cached 0MB) IRAM 0/252kB(lfb 252kB) "
                "CPU [12%@1479,3%@1479,off,off] EMC_FREQ 0%@1600 GR3D_FREQ 0%@76 APE 25 PLL@33.5C CPU@35C "
                f"PMIC@100C GPU@34.5C AO@40.5C thermal@34.75C POM_5V_IN {mw}/{avg} POM_5V_GPU {gpu}/{gpu} "
                f"POM_5V_CPU {cpu}/{cpu}")
    if fmt == "agx_xavier":
        names = ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"]
        parts = split(mw, [0.3, 0.2, 0.2, 0.05, 0.1, 0.15])
        rails = " ".join(f"{n} {p}/{p}" for n, p in zip(names, parts))
        return ("RAM 3064/31927MB (lfb 6632x4MB) SWAP 0/15963MB (cached 0MB) CPU [2%@1190,1%@1190,off,off,"
                "off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@1377 APE 150 MTS fg 0% bg 0% AO@36C GPU@36.5C "
                f"Tdiode@39C PMIC@100C AUX@35.5C CPU@37.5C thermal@36.6C Tboard@36C {rails}")
    if fmt == "jp5":
        gpu_soc, cpu_cv, sys5v = split(mw, [0.5, 0.2, 0.3])
        return (date + "RAM 2416/30536MB (lfb 6264x4MB) SWAP 0/15268MB (cached 0MB) CPU [1%@729,0%@729,"
                "0%@729,0%@729,off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305,305] VIC_FREQ 729 APE 174 "
                "CV0@-256C CPU@45.5C SOC2@42.968C SOC0@43.937C CV1@-256C GPU@42.093C tj@45.5C SOC1@42.656C "
                f"CV2@-256C VDD_GPU_SOC {gpu_soc}mW/{gpu_soc}mW VDD_CPU_CV {cpu_cv}mW/{cpu_cv}mW "
                f"VIN_SYS_5V0 {sys5v}mW/{sys5v}mW NC 0mW/0mW VDDQ_VDD2_1V8AO 301mW/301mW")
    if fmt == "jp6":
        cpu_gpu = int(mw * 0.15) - 600  # a sub-rail reading below zero at low power, as some boards do
        return (date + "RAM 2010/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) CPU [0%@729,0%@729,0%@729,"
                "0%@729,off,off] GR3D_FREQ 0%@[624] cpu@47.906C soc2@46.375C soc0@46.218C gpu@47.343C "
                f"tj@47.906C soc1@46.968C VDD_IN {mw}mW/{avg}mW VDD_CPU_GPU_CV {cpu_gpu}mW/{cpu_gpu}mW "
                f"VDD_SOC {int(mw * 0.3)}mW/{int(mw * 0.3)}mW")
    if fmt == "jp7":
        gpu, cpu = int(mw * 0.4), int(mw * 0.25)
        return (date + "RAM 6112/125772MB (lfb 3x4MB) SWAP 0/0MB (cached 0MB) CPU [1%@972,0%@972,0%@972,"
                "0%@972,1%@972,0%@972,0%@972,0%@972,0%@972,0%@972,0%@972,0%@972,0%@972,0%@972] "
                "GR3D_FREQ 0%@[0,0,0] cpu@40.1C gpu@39.2C soc012@38.8C tj@40.1C "
                f"VDD_GPU {gpu}mW/{gpu}mW/{gpu}mW VDD_CPU_SOC_MSS {cpu}mW/{cpu}mW/{cpu}mW "
                f"VIN_SYS_5V0 3000mW/3000mW/3000mW VIN {mw}mW/{avg}mW/{peak}mW")
    if fmt == "unknown_board":  # rails of a board we do not know: no total without power.rails
        return date + f"RAM 1000/4000MB VDD_FOO {mw // 3}mW/{mw // 3}mW VDD_BAR {mw - mw // 3}mW/{mw - mw // 3}mW"
    raise SystemExit("unknown format")


def main(argv):
    if "--stop" in argv:
        record("stop-all", argv=argv)
        return 0
    interval_ms = CONFIG["interval_default_ms"]
    if "--interval" in argv:
        interval_ms = int(argv[argv.index("--interval") + 1])
    # how many times this fake was started before: `exits_first_n` makes only the first n starts die
    try:
        with open(CALLS, encoding="utf-8") as fh:
            earlier_starts = sum('"event": "start"' in line for line in fh)
    except OSError:
        earlier_starts = 0
    dies = CONFIG["exits_first_n"] is None or earlier_starts < CONFIG["exits_first_n"]
    record("start", argv=argv)
    # sick until healed: once it has died, every start fails at once until the test writes the healed file
    here = os.path.dirname(os.path.abspath(__file__))
    healed, died = os.path.join(here, "tegrastats.healed"), os.path.join(here, "tegrastats.died")
    if CONFIG["sick_until_healed"]:
        if os.path.exists(healed):
            dies = False
        elif os.path.exists(died):
            sys.stderr.write("NvPModel: cannot open the power monitor\n")
            return 4
    signal.signal(signal.SIGTERM, on_term)
    if CONFIG["stderr_text"]:
        sys.stderr.write(CONFIG["stderr_text"] + "\n")
        sys.stderr.flush()
    if CONFIG["exit_code"]:
        return CONFIG["exit_code"]
    delay_s = CONFIG["delay_ms"] / 1000.0
    try:
        with open(os.path.join(here, "tegrastats.delay_ms")) as fh:
            delay_s = float(fh.read()) / 1000.0
    except OSError:
        pass
    total, peak, i = 0, 0, 0
    next_t = started = time.monotonic()
    while True:
        t = time.monotonic()
        mw = int(round(power_at(CONFIG["profile"], t, i)))
        total, peak = total + mw, max(peak, mw)
        line = render(CONFIG["fmt"], mw, total // (i + 1), peak, i)
        if CONFIG["garbage_every"] and i % CONFIG["garbage_every"] == CONFIG["garbage_every"] - 1:
            line = "\x00\x07 garbage \xff VDD_IN 12"
        if CONFIG.get("late_line") is not None and i == CONFIG["late_line"]:
            time.sleep(CONFIG["late_s"])  # one isolated late sample (a loaded board), then the usual cadence
            next_t += CONFIG["late_s"]
        if delay_s > 0:  # the reading is taken now, the line arrives later
            time.sleep(delay_s)
        if CONFIG["stall_after_lines"] is None or i < CONFIG["stall_after_lines"]:
            try:  # like a C program's printf: a reader that went away does not stop us
                os.write(1, (line + "\n").encode("utf-8", errors="surrogateescape"))
            except OSError:
                pass
        i += 1
        if dies and CONFIG["exit_after_lines"] is not None and i >= CONFIG["exit_after_lines"]:
            return 3
        if dies and CONFIG["exit_after_s"] is not None and time.monotonic() - started >= CONFIG["exit_after_s"]:
            if CONFIG["sick_until_healed"]:
                open(died, "w").close()
            return 3
        next_t += interval_ms / 1000.0
        time.sleep(max(0.0, next_t - time.monotonic()))


sys.exit(main(sys.argv[1:]))
'''


def calls_path(directory: Union[str, Path]) -> Path:
    return Path(directory) / "tegrastats.calls.jsonl"


def install_fake_tegrastats(directory: Union[str, Path], profile_mw: Profile = 5000.0, interval_default_ms: int = 100,
                            fmt: str = "jp6", *, garbage_every: int = 0, exit_after_lines: Optional[int] = None,
                            stall_after_lines: Optional[int] = None, exit_code: int = 0, stderr_text: str = "",
                            name: str = "tegrastats", exit_after_s: Optional[float] = None,
                            exits_first_n: Optional[int] = None, sick_until_healed: bool = False,
                            late_line: Optional[int] = None, late_s: float = 0.0, delay_ms: float = 0.0) -> Path:
    """Write an executable `directory/name` and return its path (put its directory first on PATH)."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = dict(profile=profile_mw, fmt=fmt, interval_default_ms=interval_default_ms, garbage_every=garbage_every,
                  exit_after_lines=exit_after_lines, stall_after_lines=stall_after_lines, exit_code=exit_code,
                  stderr_text=stderr_text, calls_path=str(calls_path(directory)), exit_after_s=exit_after_s,
                  exits_first_n=exits_first_n, sick_until_healed=sick_until_healed, late_line=late_line,
                  late_s=late_s, delay_ms=delay_ms)
    exe = directory / name
    text = SCRIPT.replace("__PYTHON__", sys.executable).replace("__CONFIG__", repr(json.dumps(config)))
    exe.write_text(text, encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def read_calls(directory: Union[str, Path]) -> List[dict]:
    path = calls_path(directory)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_energy_j(profile: Profile, t0: float, t1: float) -> float:
    """Exact energy of a time-based profile over [t0, t1] (monotonic seconds)."""
    if isinstance(profile, (int, float)):
        return profile * (t1 - t0) / 1000.0
    if isinstance(profile, dict) and profile.get("kind") == "sine":
        w = 2 * math.pi / profile["period_s"]
        integral = profile["mean_mw"] * (t1 - t0) - profile["amplitude_mw"] / w * (math.cos(w * t1) - math.cos(w * t0))
        return integral / 1000.0
    raise ValueError("only constant and sine profiles have an analytic integral here")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
