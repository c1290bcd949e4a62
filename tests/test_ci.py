"""The CI entry and its lint gate: .ci/run runs the README's test command, and a new `snakemake --lint`
warning fails .ci/lint while the explained ones pass."""

from __future__ import annotations

import re
import subprocess
import sys

from pipeline_helpers import REPO

CHECK = REPO / ".ci" / "check_snakemake_lint.py"
ALLOWED = REPO / ".ci" / "snakemake-lint-allowed.txt"


def lint_output(*items: tuple[str, str]) -> str:
    """`snakemake --lint` text: (where, title) pairs, where is `rule NAME` or `snakefile PATH`."""
    lines = []
    for where, title in items:
        if where.startswith("rule "):
            lines.append(f"Lints for {where} (line 5, {REPO}/workflow/rules/x.smk):")
        else:
            lines.append(f"Lints for snakefile {REPO}/{where.split(' ', 1)[1]}:")
        lines += [f"    * {title}:", "      Some explanation.", ""]
    return "\n".join(lines)


def check(tmp_path, text: str) -> subprocess.CompletedProcess:
    out = tmp_path / "lint.txt"
    out.write_text(text)
    return subprocess.run([sys.executable, str(CHECK), str(ALLOWED), str(out)], capture_output=True, text=True,
                          timeout=60)


def test_the_ci_runs_the_readmes_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    install = r"^python3 -m venv \.venv && \.venv/bin/pip install -c constraints\.txt -e '\.\[dev\]' && (.+)$"
    command = re.search(install, readme, re.M)
    assert command, "the README's test command moved"
    run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[dev]'" in run
    assert re.search(rf"^{re.escape(command[1])}$", run, re.M)
    assert "bash .ci/lint" in run and '"$status" -eq 5' in run  # the lint lane, and pytest's "no tests" fails


def test_explained_warnings_pass_with_the_line_numbers_they_have_today(tmp_path):
    proc = check(tmp_path, lint_output(
        ("rule judge_shard", "Specify a conda environment or container for each rule."),
        ("rule merge_runs", "Shell command directly uses variable SLMBENCH from outside of the rule in line 58."),
    ))
    assert proc.returncode == 0, proc.stdout
    assert "2 warning(s), 0 new" in proc.stdout


def test_a_new_warning_fails_naming_the_rule_and_the_allow_list(tmp_path):
    proc = check(tmp_path, lint_output(
        ("rule judge_shard", "Specify a conda environment or container for each rule."),
        ("rule judge_shard", "No log directive defined"),
    ))
    assert proc.returncode == 1
    assert "NEW warning" in proc.stdout and "rule judge_shard: No log directive defined" in proc.stdout
    assert "snakemake-lint-allowed.txt" in proc.stdout


def test_an_allowed_warning_no_longer_seen_is_reported_but_does_not_fail(tmp_path):
    proc = check(tmp_path, lint_output(("rule judge_shard", "Specify a conda environment or container for each rule.")))
    assert proc.returncode == 0
    assert "no longer seen" in proc.stdout and "SLMBENCH" in proc.stdout
