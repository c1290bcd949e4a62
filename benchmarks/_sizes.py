"""The benchmarks' common `--smoke` size: every benchmark takes it, CI runs each one with it (tests/test_benchmarks.py).

A smoke run takes seconds and proves the benchmark still runs end to end and prints its figures as the JSON object
on its last line. Its figures mean nothing (sizes too small to measure anything), so a smoke run never fails on a
missed goal: speed is judged by the full and --quick runs (benchmarks/run_all.py), never by a timed test.
"""

from __future__ import annotations

import argparse

SMOKE_HELP = ("a size that runs in seconds, for CI: proves the benchmark runs and prints its figures; the figures "
              "mean nothing and a missed goal does not fail the run")


def parse_sizes(parser: argparse.ArgumentParser, argv, smoke: dict) -> argparse.Namespace:
    """`parser.parse_args(argv)` with `--smoke` added: when given, `smoke` (argument dest: value) replaces the
    sizes, whatever else the command line said."""
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    if args.smoke:
        unknown = set(smoke) - set(vars(args))
        if unknown:  # a renamed option would otherwise leave the smoke run at full size, silently
            raise SystemExit(f"smoke sizes name no option of this benchmark: {sorted(unknown)}")
        for name, value in smoke.items():
            setattr(args, name, value)
    return args
