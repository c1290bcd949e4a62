"""One run per results directory, and no lock left behind by a killed run.

Snakemake locks the working directory while it runs and removes the lock when it exits; `kill -9`, an OOM
kill or a power loss leave the lock, and the next run refuses to start until `--unlock`. Snakemake's own
check is not enough for a study: two runs started in the same second can both pass it, and on one board two
shards measured at once spoil each other's energy.

So the main Snakemake process first takes an exclusive `flock` on `.snakemake/slmbench_run.lock` and keeps
it for its whole life. The kernel releases it when the process dies, however it dies, so:
- the flock is held: another run on this machine (whatever its host name: `unshare -u` shares the kernel)
  is alive; refuse with one line;
- we got the flock and Snakemake's locks exist: if the owner file says this host, the run that left them is
  dead (it would hold the flock), so they are removed; if it names another host (a shared filesystem), that
  run cannot be checked from here and is treated as alive until the user says otherwise with `--unlock`.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from .errors import UserError

_held_fds: dict = {}  # workdir -> fd of the flock this process holds (kept open for the process's life)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_owner(owner_file: Path) -> Optional[dict]:
    try:
        owner = json.loads(owner_file.read_text())
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _describe(owner: Optional[dict]) -> str:
    if not owner:
        return "another run"
    return (f"the run started {owner.get('started_at', '?')} (pid {owner.get('pid', '?')} on host "
            f"{owner.get('host', '?')})")


def claim_results_dir(workdir: str | Path = ".", unlocking: bool = False) -> Optional[str]:
    """Make this process the only run in `workdir`; return a message when a dead run's lock was removed.

    Raises UserError (one line) when a live run holds the directory, or when a run on another host may.
    `unlocking` (snakemake --unlock): the user vouches that no other run is alive; only the flock is checked.
    """
    key = str(Path(workdir).resolve())
    if key in _held_fds:
        return None
    meta = Path(workdir) / ".snakemake"
    meta.mkdir(parents=True, exist_ok=True)
    owner_file = meta / "slmbench_owner.json"
    fd = os.open(meta / "slmbench_run.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UserError(
            f"{_describe(_read_owner(owner_file))} is still running in {Path(workdir).resolve()}; wait for it "
            f"(`slmbench status` shows its progress) or stop it, then start again") from None
    try:
        message = _clear_dead_runs_locks(meta, _read_owner(owner_file), unlocking)
    except BaseException:
        os.close(fd)  # releases the flock: we are not the run
        raise
    _held_fds[key] = fd
    owner_file.write_text(json.dumps({
        "pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }))
    return message


def _clear_dead_runs_locks(meta: Path, owner: Optional[dict], unlocking: bool) -> Optional[str]:
    """Called holding the flock: remove Snakemake's locks when the run that left them is provably dead."""
    locks = meta / "locks"
    held = locks.is_dir() and any(locks.iterdir())
    if not held or unlocking:
        return None
    if owner is None:
        return None  # a lock we know nothing about: leave it to Snakemake (and --unlock)
    if owner.get("host") != socket.gethostname():
        raise UserError(
            f"this results directory is locked by {_describe(owner)}, which cannot be checked from "
            f"{socket.gethostname()}; if that run is no longer running, run `snakemake --unlock` with the "
            f"same arguments and start again")
    # Same host and we hold the flock: the run that left these locks is dead (or from a previous boot).
    for lock in locks.iterdir():
        lock.unlink()
    return (f"slmbench: removed the lock left by a run that was killed (pid {owner.get('pid')}); "
            f"unfinished jobs will be redone")


def live_run(workdir: str | Path = ".") -> Optional[dict]:
    """The owner of a live run in `workdir` ({} when unknown), or None when no run holds it. Changes nothing:
    the flock is probed and released at once (a dry run, `slmbench redo` and `status` ask this)."""
    if str(Path(workdir).resolve()) in _held_fds:
        return None  # this process is the run
    lock_file = Path(workdir) / ".snakemake" / "slmbench_run.lock"
    if not lock_file.exists():
        return None
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return _read_owner(Path(workdir) / ".snakemake" / "slmbench_owner.json") or {}
    finally:
        os.close(fd)  # closing releases a flock we took
    return None


def stale_lock_owner(workdir: str | Path = ".") -> Optional[dict]:
    """The recorded owner of Snakemake locks that a real run would remove now (a dead run on this host), or
    None. Changes nothing: what a dry run reports."""
    meta = Path(workdir) / ".snakemake"
    locks = meta / "locks"
    if not (locks.is_dir() and any(locks.iterdir())):
        return None
    owner = _read_owner(meta / "slmbench_owner.json")
    if owner is None or owner.get("host") != socket.gethostname() or live_run(workdir) is not None:
        return None
    return owner
