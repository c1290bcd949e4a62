"""`slmbench` command line: one subcommand per stage.

Each stage keeps its own argument parser in `<stage>/cli.py` (or its module) exposing
`register(subparsers)`; registration imports nothing heavy, so `slmbench --help` stays fast and the
Python 3.10 inference interpreter never needs pandas.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from . import __version__
from .errors import UserError

# stage name -> module that provides register(subparsers)
STAGES = {
    "prompts": "slmbench.prompts.cli",
    "models": "slmbench.models",
    "power": "slmbench.power.cli",
    "infer": "slmbench.inference",
    "merge": "slmbench.merge",
    "judge": "slmbench.judge.cli",
    "report": "slmbench.report.cli",
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


def run(handler, args) -> int:
    """Call a subcommand handler; a UserError becomes one line on stderr and exit code 2."""
    try:
        result = handler(args)
    except UserError as exc:
        print(f"slmbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            raise
        # a full disk or unwritable directory is the user's to fix; outputs are atomic, so nothing partial is left
        print(f"slmbench: error: {exc.strerror}: {exc.filename or 'writing output'}; free space or fix "
              f"permissions and rerun", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slmbench: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
