"""What must happen before a run plans its jobs, and must never happen in a dry run.

Two repairs after a kill or a power cut, so that "rerun the same command" just works:
- the run claims the study, its results directory (a second run on it, from any working directory, clone or
  host, is refused with one line naming the holder), and the Snakemake lock a killed run left behind in the
  working directory is removed (only when its owner is provably gone: slmbench.locks);
- a shard a power loss cut (renamed into place, but its tail never reached the disk) is moved aside to
  `*.corrupt`, and the files made from it (its score, the merged runs and scores) are removed: Snakemake does
  not rebuild a missing intermediate while its products still exist.

workflow/rules/common.smk calls `preflight` once while Snakemake parses the workflow, in the main process only:
both repairs must come before the DAG is built (Snakemake takes its lock and compares the shards' dates right
after the parse; an `onstart` handler would come too late). Under `snakemake -n` it only says what it would do
and changes no file of the study.

Checking a shard means reading and parsing all of it, so a study of 1600 shards would be read at every parse.
`ShardIndex` remembers the size and mtime_ns of every shard found complete and reads only new or changed ones.
Stdlib only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from .layout import StudyLayout, shard_keys
from .locks import claim_study, claim_workdir, stale_lock_owner, study_lock_holder
from .records import atomic_output, jsonl_is_complete

# In Snakemake's own metadata directory of the working directory (which `snakemake -n` writes itself): a cache
# of facts about files, never a result; deleting it only makes the next parse read every shard once.
INDEX_PATH = ".snakemake/slmbench/shard_index.json"
INDEX_VERSION = 1


class ShardIndex:
    """size and mtime_ns of the shards known to be complete, so unchanged shards are not read again."""

    def __init__(self, path: str | os.PathLike = INDEX_PATH,
                 is_complete: Callable[[str], bool] = jsonl_is_complete) -> None:
        self.path = Path(path)
        self._check = is_complete
        self._entries: Dict[str, List[int]] = {}
        self._changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == INDEX_VERSION:
                self._entries = {k: list(v) for k, v in data["shards"].items()}
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass  # no index yet, or an unreadable one: every shard is read once more

    def is_complete(self, shard: str) -> Optional[bool]:
        """None when the shard does not exist; else whether it is whole (read only when new or changed)."""
        try:
            stat = os.stat(shard)
        except FileNotFoundError:
            self.forget(shard)
            return None
        key = [stat.st_size, stat.st_mtime_ns]
        if self._entries.get(shard) == key:
            return True
        complete = self._check(shard)
        if complete:
            self._entries[shard], self._changed = key, True
        else:
            self.forget(shard)
        return complete

    def knew(self, shard: str) -> bool:
        """Whether the shard was seen complete by an earlier parse (this study made it)."""
        return shard in self._entries

    def forget(self, shard: str) -> None:
        if self._entries.pop(shard, None) is not None:
            self._changed = True

    def save(self) -> None:
        if not self._changed:
            return
        try:
            with atomic_output(self.path) as fh:
                json.dump({"version": INDEX_VERSION, "shards": self._entries}, fh, separators=(",", ":"))
        except OSError:
            return  # a read-only working directory: the next parse reads the shards again, nothing worse
        self._changed = False


# snakemake options under which the workflow is only read: like a dry run, no lock is taken
READ_ONLY_FLAGS = frozenset({"--lint", "--summary", "-S", "--detailed-summary", "-D", "--list-rules", "--list",
                             "-l", "--list-target-rules", "--lt", "--dag", "--rulegraph", "--filegraph", "--d3dag",
                             "--list-changes", "--lc", "--list-input-changes", "--li", "--list-params-changes",
                             "--lp", "--list-code-changes"})

# a shard and the files made from it, which go with it when it is quarantined
ShardProducts = Tuple[str, Sequence[str]]


def study_shards(layout: StudyLayout, models: Iterable[str], levels: Sequence[str],
                 categories: Sequence[str], modes: Sequence[str] = ()) -> Iterator[ShardProducts]:
    """Every shard of a study (one per power mode of a study with several), with what is made from it: its
    score (a (model, level, category)'s scores hold every mode's runs), the merged runs and the merged scores."""
    for key in shard_keys(list(models), levels, categories, modes):
        made = (layout.scores(*key[:3]), layout.runs, layout.scores_merged)
        yield layout.shard(*key), made


def broken_shards(shards: Iterable[ShardProducts], index: ShardIndex) -> List[ShardProducts]:
    """The shards that exist but are incomplete."""
    return [(shard, derived) for shard, derived in shards if index.is_complete(shard) is False]


def quarantine(shard: str, derived: Sequence[str]) -> None:
    path = Path(shard)
    path.replace(path.with_name(f"{path.name}.corrupt"))
    for product in derived:
        Path(product).unlink(missing_ok=True)


def preflight(shards: Iterable[ShardProducts], *, dry_run: bool, results_dir: str | os.PathLike,
              workdir: str | os.PathLike = ".", index: Optional[ShardIndex] = None,
              emit: Optional[Callable[[str], None]] = None, unlocking: bool = False) -> List[str]:
    """Claim the study in `results_dir` for this run (one run at a time: slmbench.locks), clear a dead run's
    lock and quarantine broken shards, or under a dry run only say so. Returns the lines it emitted (to stderr
    unless `emit` is given). Raises UserError when another run holds the study."""
    emit = emit or (lambda line: print(line, file=sys.stderr))
    lines: List[str] = []

    def say(line: str) -> None:
        lines.append(line)
        emit(line)

    if dry_run:
        holder = study_lock_holder(results_dir)
        if holder is not None:
            say(f"slmbench: dry run: {holder.describe()} is working on this study; a real run now would be refused")
            return lines  # its shards are being written: nothing to check or repair
        owner = stale_lock_owner(workdir)
        if owner is not None:
            say(f"slmbench: dry run: the real run will remove the lock left by a killed run (pid {owner.get('pid')})")
    else:
        claim_study(results_dir, unlocking=unlocking)  # first: nothing below may touch a study another run holds
        unlocked = claim_workdir(workdir, unlocking=unlocking)
        if unlocked:
            say(unlocked)
    index = index or ShardIndex(Path(workdir) / INDEX_PATH)
    shards = list(shards)
    if not dry_run:
        # A shard deleted by hand (or by `slmbench redo`) while what was made from it still exists: Snakemake would
        # not rebuild it, so its products go too. (A dry run plans it through the merges' `absent` params, which
        # only a dry run fills in: a real run recording them would re-merge at every later run.)
        for shard, derived in shards:
            present = [p for p in derived if Path(p).exists()]
            # only a shard this study made and indexed: merged files brought in without shards are never touched
            if not Path(shard).exists() and present and index.knew(shard):
                for product in present:
                    Path(product).unlink(missing_ok=True)
                say(f"slmbench: {shard} is missing; removed {', '.join(present)} so it is redone with them")
    for shard, derived in broken_shards(shards, index):
        name = Path(shard).name
        present = [p for p in derived if Path(p).exists()]
        if dry_run:
            removes = f", remove {', '.join(present)}" if present else ""
            say(f"slmbench: dry run: {shard} is incomplete (power loss?); the real run will move it to "
                f"{name}.corrupt{removes} and redo it (nothing changed now)")
        else:
            quarantine(shard, derived)  # never indexed: an incomplete shard is read at every parse until then
            say(f"slmbench: {shard} was incomplete (power loss?); moved to {name}.corrupt, redoing it")
    index.save()
    return lines


def workflow_preflight(workflow, shards: Iterable[ShardProducts], results_dir: str | os.PathLike,
                       configfiles: Sequence[str] = ()) -> None:
    """`preflight` as the workflow's parse calls it (main process only): a dry run changes nothing; `--unlock`
    means the user vouches no run is alive. Another live run ends the parse with one line. Cluster jobs parse
    the workflow again: only the main process takes part."""
    from .errors import UserError

    if not workflow.is_main_process:
        return
    # a dry run, and the commands that only read the workflow (they take no lock and change no file)
    dry_run = (workflow.dryrun or getattr(workflow.output_settings, "dryrun", False)
               or any(arg.split("=")[0] in READ_ONLY_FLAGS for arg in sys.argv))
    if dry_run and configfiles and "--lint" not in sys.argv:  # the config a run with these options would use
        print(f"slmbench: dry run of {' + '.join(configfiles)} (results in {results_dir}/)", file=sys.stderr)
    try:
        preflight(shards, dry_run=bool(dry_run), results_dir=results_dir, unlocking="--unlock" in sys.argv)
    except UserError as exc:
        sys.exit(f"slmbench: error: {exc}")
