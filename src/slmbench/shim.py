"""Helper for workflow/scripts: send stderr to the rule's log, turn a UserError into one line and exit 1."""

from __future__ import annotations

import io
import sys
import threading
from typing import Callable, Sequence

from .errors import UserError


class LogWithEcho(io.TextIOBase):
    """Everything to the job's log; whole lines starting with one of `prefixes` also to the console, so a
    job's live lines (one per verdict) reach the user while its diagnostics stay in the log."""

    def __init__(self, log, console, prefixes: Sequence[str]):
        self.log, self.console, self.prefixes = log, console, tuple(prefixes)
        self.pending = ""
        self.lock = threading.Lock()  # the judge's worker threads print too

    def write(self, text: str) -> int:
        with self.lock:
            self.log.write(text)
            self.pending += text
            while "\n" in self.pending:
                line, self.pending = self.pending.split("\n", 1)
                if line.startswith(self.prefixes):
                    self.console.write(line + "\n")
                    self.console.flush()
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def writable(self) -> bool:
        return True


def run_step(snakemake, step: Callable[[], object], echo: Sequence[str] = ()) -> None:
    """Run a workflow step with stderr in the rule's log; lines starting with a prefix in `echo` are also
    shown on the console."""
    log = snakemake.log[0] if len(snakemake.log) else None
    if log:
        sys.stderr = open(log, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives for the job
        if echo:
            sys.stderr = LogWithEcho(sys.stderr, sys.__stderr__, echo)
    try:
        step()
    except UserError as exc:
        print(f"slmbench: error: {exc}", file=sys.stderr)
        if log:
            # Snakemake shows the log path; repeat the one line on the real stderr so the user sees it.
            print(f"slmbench: error: {exc}", file=sys.__stderr__)
        sys.exit(1)
