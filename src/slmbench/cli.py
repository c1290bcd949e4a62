"""`slmbench` command line: one subcommand per stage.

Each stage keeps its own argument parser in `<stage>/cli.py` (or its module) exposing
`register(subparsers)`; registration imports nothing heavy, so `slmbench --help` stays fast and the
Python 3.10 inference interpreter never needs pandas.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .command import run  # shared with the stages' own entry points (no import cycle)

# stage name -> module that provides register(subparsers)
STAGES = {
    "prompts": "slmbench.prompts.cli",
    "models": "slmbench.models",
    "power": "slmbench.power.cli",
    "power-mode": "slmbench.power_modes",
    "infer": "slmbench.inference",
    "merge": "slmbench.merge",
    "judge": "slmbench.judge.cli",
    "report": "slmbench.report.cli",
    "plan": "slmbench.report.plan",
    "doctor": "slmbench.doctor",
    "status": "slmbench.status",
    "redo": "slmbench.redo",
    "viewer": "slmbench.report.viewer",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slmbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"slmbench {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in STAGES.values():
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
