"""Clear the Snakemake lock a killed run leaves behind, so "rerun the same command" works after a power cut.

Snakemake locks the working directory while it runs and removes the lock when it exits; `kill -9`, an
OOM kill or a power loss leave the lock, and the next run refuses to start until `--unlock`. We record
which process owns the run (pid, host, boot id) and, at the next start, remove the lock only when that
owner is provably gone: another boot, or a dead pid on this host. A live run is never unlocked.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Optional


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


def stale_lock_owner(workdir: str | Path = ".") -> Optional[dict]:
    """The recorded owner of a lock whose run is provably gone; None when no lock is held, its owner is
    alive, or the lock is one we know nothing about (left to Snakemake and --unlock). Changes nothing."""
    meta = Path(workdir) / ".snakemake"
    locks = meta / "locks"
    if not (locks.is_dir() and any(locks.iterdir())):
        return None
    try:
        owner = json.loads((meta / "slmbench_owner.json").read_text())
    except (OSError, ValueError):
        return None
    same_boot = owner.get("boot_id") == _boot_id() and owner.get("host") == socket.gethostname()
    if same_boot and pid_alive(int(owner.get("pid", -1))):
        return None  # a live run holds it
    return owner


def clear_stale_lock(workdir: str | Path = ".") -> Optional[str]:
    """Remove a dead run's lock and record this process as the owner; return a message when a lock was removed."""
    meta = Path(workdir) / ".snakemake"
    owner = stale_lock_owner(workdir)
    message = None
    if owner is not None:
        for lock in (meta / "locks").iterdir():
            lock.unlink()
        message = (f"slmbench: removed the lock left by a run that was killed (pid {owner.get('pid')}); "
                   f"unfinished jobs will be redone")
    elif (meta / "locks").is_dir() and any((meta / "locks").iterdir()):
        return None  # a live run's lock, or one we know nothing about: not ours to touch or to claim
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "slmbench_owner.json").write_text(
        json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id()}))
    return message
