"""`python -m slmbench.power parse|measure|idle ...`: the power commands alone, e.g. under a Jetson's system
Python 3.10 that lacks the pipeline's dependencies. Same as `slmbench power ...`."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from ..command import run
from .cli import register


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slmbench")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(["power", *(sys.argv[1:] if argv is None else argv)])
    return run(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
