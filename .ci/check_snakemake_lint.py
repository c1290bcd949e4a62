"""Compare `snakemake --lint` output with the allow-list of warnings we keep (each explained there).

Usage: python .ci/check_snakemake_lint.py ALLOWED_FILE LINT_OUTPUT...
Each warning becomes one line `<where>: <title>` (`rule judge_shard: Specify a conda ...` or
`snakefile workflow/rules/common.smk: Environment variable ...`; line numbers dropped, they move with every
edit). A warning no allow-list pattern (fnmatch) matches fails the check; an allowed warning no longer seen
is reported so the list can shrink. Snakemake 9's `--lint json` still prints text, hence this parser.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RULE = re.compile(r"^Lints for rule (\S+) \(line \d+, .*\):$")
SNAKEFILE = re.compile(r"^Lints for snakefile (.+):$")
ITEM = re.compile(r"^    \* (.+):$")
LINE_NUMBER = re.compile(r" in line \d+\.?$")


def warnings_in(text: str) -> set[str]:
    found, where = set(), None
    for line in text.splitlines():
        if m := RULE.match(line):
            where = f"rule {m[1]}"
        elif m := SNAKEFILE.match(line):
            path = Path(m[1])
            where = f"snakefile {path.relative_to(REPO) if path.is_relative_to(REPO) else path}"
        elif (m := ITEM.match(line)) and where:
            found.add(f"{where}: {LINE_NUMBER.sub('', m[1])}")
    return found


def allowed_patterns(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def main(allowed_file: str, *outputs: str) -> int:
    patterns = allowed_patterns(Path(allowed_file))
    seen = set().union(*(warnings_in(Path(o).read_text(encoding="utf-8")) for o in outputs))
    new = sorted(w for w in seen if not any(fnmatch.fnmatchcase(w, p) for p in patterns))
    unused = [p for p in patterns if not any(fnmatch.fnmatchcase(w, p) for w in seen)]
    for pattern in unused:
        print(f"snakemake --lint: allowed but no longer seen (remove it from {allowed_file}): {pattern}")
    for warning in new:
        print(f"snakemake --lint: NEW warning (fix it, or explain it in {allowed_file}): {warning}")
    print(f"snakemake --lint: {len(seen)} warning(s), {len(new)} new")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
