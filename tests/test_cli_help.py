"""`slmbench --version`, and help text on every option of every subcommand."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from slmbench import __version__
from slmbench.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def subparsers(parser: argparse.ArgumentParser, path: str = "slmbench"):
    yield path, parser
    for action in parser._actions:  # argparse offers no public walk of its tree
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subparsers(sub, f"{path} {name}")


# Options of judge/cli.py and report/cli.py still without help, left to the branches that own those files.
# The test fails once one gets its help: then remove it here.
AWAITING_HELP = {"slmbench judge --backend", "slmbench judge --chat-format"}  # src/slmbench/judge (branch judge2)


def test_every_option_of_every_subcommand_has_help():
    missing = []
    for path, parser in subparsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert sorted(set(missing) - AWAITING_HELP) == [], "options without help text"
    assert sorted(AWAITING_HELP - set(missing)) == [], "these have help now: remove them from AWAITING_HELP"


def test_every_subcommand_has_a_one_line_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert [c.dest for c in sub._choices_actions if not c.help] == []
    assert {"status", "redo", "viewer", "doctor", "infer", "judge", "report"} <= set(sub.choices)


def test_version():
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "--version"], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"slmbench {__version__}"
