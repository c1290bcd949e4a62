"""`slmbench power parse|measure|idle|calibrate`: check a sensor by hand, the idle-baseline and calibration rules'
commands."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..errors import UserError
from ..records import dumps_compact

BACKEND_CHOICES = ["auto", "tegrastats", "ina3221", "nvml", "rapl", "none"]


def register(subparsers) -> None:
    power = subparsers.add_parser("power", help="power sensors: parse tegrastats lines, measure, idle baseline")
    actions = power.add_subparsers(dest="power_action", required=True, metavar="ACTION")

    parse = actions.add_parser("parse", help="tegrastats lines -> one JSON object per line (board total, rails)")
    parse.add_argument("file", nargs="?", default="-", help="a tegrastats log; '-' or absent: stdin")
    parse.add_argument("--rails", nargs="*", default=None, help="rails to sum (default: the board's total rail)")
    parse.set_defaults(func=run_parse)

    measure = actions.add_parser("measure", help="sample for S seconds and print the energy as JSON")
    measure.add_argument("--seconds", type=float, required=True, help="sampling time")
    _sensor_options(measure, backend_default="auto", interval_default=100)
    measure.set_defaults(func=run_measure)

    idle = actions.add_parser("idle", help="measure the idle baseline into a JSON file (the power_idle rule)")
    idle.add_argument("--out", required=True, help="the idle JSON to write (atomically)")
    idle.add_argument("--seconds", type=float, required=True, help="sampling time (power.idle_seconds)")
    idle.add_argument("--settle", type=float, required=True, help="wait before sampling (power.settle_seconds)")
    idle.add_argument("--host", default=None, help="refuse to run unless this is the host the file is named for")
    _sensor_options(idle, backend_default=None, interval_default=None)
    idle.set_defaults(func=run_idle)

    calibrate = actions.add_parser("calibrate", help="measure the sensor's lag with a stamped load step into a JSON "
                                   "file (power/calibration_<host>.json)")
    calibrate.add_argument("--out", required=True, help="the calibration JSON to write (atomically)")
    calibrate.add_argument("--host", default=None, help="refuse to run unless this is the host the file is named for")
    calibrate.add_argument("--steps", type=int, default=8,
                           help="load steps (idle, burst) to fit (power.calibration_steps)")
    calibrate.add_argument("--idle-s", type=float, default=1.0, help="seconds of idle before each burst")
    calibrate.add_argument("--burst-s", type=float, default=1.0, help="seconds of each CPU burst")
    calibrate.add_argument("--threads", type=int, default=None, help="cores the burst loads (default: all)")
    calibrate.add_argument("--seed", type=int, default=0, help="seeds the idle lengths (the edges' phases)")
    _sensor_options(calibrate, backend_default="auto", interval_default=100)
    calibrate.set_defaults(func=run_calibrate)


def _sensor_options(parser: argparse.ArgumentParser, backend_default, interval_default) -> None:
    required = backend_default is None
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default=backend_default, required=required,
                        help="power sensor (power.backend); auto tries each")
    parser.add_argument("--interval-ms", type=int, default=interval_default, required=required,
                        help="sampling interval in ms (power.interval_ms)")
    parser.add_argument("--tegrastats-path", default="tegrastats", help="the tegrastats executable")
    parser.add_argument("--rails", nargs="*", default=None,
                        help="rails summed into the board total (none given: detect the board's total rail)")
    parser.add_argument("--max-gap-factor", type=float, default=3.0,
                        help="a gap between samples longer than this many intervals voids the window")
    parser.add_argument("--sysfs-root", default="/", help="prefix of /sys and /proc (a fake tree in tests)")


def run_parse(args) -> int:
    from .parsing import parse_line
    from .rails import read_board_model

    model = read_board_model("/")
    try:
        stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UserError(
            f"cannot read {args.file} ({exc.strerror}); give a tegrastats log file or '-' for stdin"
        ) from None
    try:
        for raw in stream:
            power_mw, rails = parse_line(raw, model, args.rails or None)
            sys.stdout.write(dumps_compact({"power_mw": power_mw, "rails": rails}) + "\n")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return 0


def run_measure(args) -> int:
    from .sampler import open_sampler

    if args.seconds <= 0:
        raise UserError(f"--seconds is {args.seconds}; give a positive duration")
    sampler = open_sampler(args.backend, args.interval_ms, args.tegrastats_path, args.rails or None,
                           args.max_gap_factor, args.sysfs_root)
    with sampler:
        t0 = time.monotonic()
        time.sleep(args.seconds)
        window = sampler.window(t0, time.monotonic())
    print(json.dumps({
        "backend": sampler.name, "rails": sampler.rails, "n_samples": window.n_samples,
        "duration_s": round(window.duration_s, 6), "mean_power_mw": window.mean_power_mw,
        "energy_j": window.energy_j, "note": window.note,
    }))
    return 0


def run_idle(args) -> int:
    from .idle import host_id, measure_idle, report, write_idle

    if args.host is not None and args.host != host_id():
        raise UserError(f"{args.out} is the idle baseline of host {args.host}, but this is {host_id()}; measure "
                        f"it on {args.host} (each board keeps its own idle_<host>.json)")
    result = measure_idle(args.backend, args.seconds, args.settle, args.interval_ms, args.tegrastats_path,
                          args.rails or None, args.max_gap_factor, args.sysfs_root)
    write_idle(args.out, result)
    report(result, args.out)
    return 0


def run_calibrate(args) -> int:
    from .calibration import calibrate, write_calibration
    from .idle import host_id
    from .sampler import open_sampler

    if args.host is not None and args.host != host_id():
        raise UserError(f"{args.out} is the power calibration of host {args.host}, but this is {host_id()}; "
                        f"calibrate on {args.host} (each board keeps its own calibration_<host>.json)")
    sampler = open_sampler(args.backend, args.interval_ms, args.tegrastats_path, args.rails or None,
                           args.max_gap_factor, args.sysfs_root)
    with sampler:
        result = calibrate(sampler, args.steps, args.idle_s, args.burst_s, args.threads, args.seed)
    result["host"] = host_id()
    write_calibration(args.out, result)
    if result["lag_ms"] is None:
        print(f"slmbench: warning: {args.out}: {result['note']}; windows stay uncorrected", file=sys.stderr)
    else:
        print(f"{args.out}: {result['backend']} lags {result['lag_ms']:g} ms (dead time {result['dead_time_ms']:g} "
              f"ms, rise {result['rise_ms']:g} ms; idle {result['low_mw']:.0f} mW, load {result['high_mw']:.0f} mW)",
              file=sys.stderr)
    print(json.dumps({k: result[k] for k in ("backend", "lag_ms", "dead_time_ms", "rise_ms", "note")}))
    return 0
