"""Helper for workflow/scripts: send stderr to the rule's log, turn a UserError into one line and exit 1."""

from __future__ import annotations

import sys
from typing import Callable

from .errors import UserError


def run_step(snakemake, step: Callable[[], object]) -> None:
    log = snakemake.log[0] if len(snakemake.log) else None
    if log:
        sys.stderr = open(log, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives for the job
    try:
        step()
    except UserError as exc:
        print(f"slmbench: error: {exc}", file=sys.stderr)
        if log:
            # Snakemake shows the log path; repeat the one line on the real stderr so the user sees it.
            print(f"slmbench: error: {exc}", file=sys.__stderr__)
        sys.exit(1)
