"""One run per study, and no lock left behind by a killed run.

**The study lock** lives in the study itself, the resolved `results_dir` (`<results_dir>/.slmbench/run.lock`
and its owner file `owner.json`), so two runs on one results directory are refused whatever their working
directory, clone or host: Snakemake's own lock is in `<cwd>/.snakemake/` and sees only runs started from the
same directory. The main Snakemake process takes an exclusive `flock` at parse (slmbench.preflight) and keeps it
for its whole life; the kernel releases it when the process dies, however it dies. `slmbench redo` takes it
while it deletes, `status` asks who holds it, and the judge and report commands take it while they write into
a study (unless they are a job of the run that holds it: the run's token is in their environment).

A flock is not always seen from another host (some shared filesystems keep flocks per client), so the owner
file says who holds the study and is removed when the holder ends. A lock we get while the owner file names a
run on another machine (another host name and another kernel boot) cannot be checked from here: it is
treated as alive until the user says otherwise with `snakemake --unlock`. On the same kernel (even under
another host name: `unshare -u`) the flock is the truth.

**Snakemake's lock** (`<workdir>/.snakemake/locks`) is left behind by `kill -9`, an OOM kill or a power loss,
and the next run refuses to start until `--unlock`. Each run holds a shared flock on
`<workdir>/.snakemake/slmbench_run.lock`; a run that can take it exclusively is the only live run of this
working directory, so Snakemake locks it finds there were left by a dead run and are removed (when the owner
file says this machine; another host's are kept until `--unlock`).

Stdlib only, Python 3.10 compatible.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import secrets
import socket
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

from .errors import UserError

STUDY_LOCK_DIR = ".slmbench"  # inside results_dir
STUDY_LOCK = "run.lock"
STUDY_OWNER = "owner.json"
# The holder's token, in the environment of every job it starts (slurm jobs too: common.smk's envvars), so a
# `slmbench judge` the run itself started writes into the study it holds.
RUN_TOKEN_ENV = "SLMBENCH_RUN_TOKEN"

_held_fds: dict = {}  # resolved lock file -> fd of the flock this process holds


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
        owner = json.loads(owner_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _write_owner(owner_file: Path, owner: dict) -> None:
    """Written in place (a rename would need a temporary name another run could race on), readable by the group
    sharing the study (umask)."""
    fd = os.open(owner_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(owner, fh)


def _this_machine(owner: dict) -> bool:
    """The owner ran on this kernel: the flock tells whether it is alive."""
    if owner.get("boot_id") and owner.get("boot_id") == _boot_id():
        return True
    return owner.get("host") == socket.gethostname()


def new_run_token() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Holder:
    """Who holds a study: a live run (or one on another machine that cannot be checked from here)."""

    pid: Optional[int] = None
    host: Optional[str] = None
    started_at: Optional[str] = None
    cwd: Optional[str] = None
    purpose: Optional[str] = None  # "run" (Snakemake), "redo", "judge", "report"
    token: Optional[str] = None
    unverifiable: bool = False  # on another machine: its flock cannot be seen from here

    @classmethod
    def from_owner(cls, owner: Optional[dict], unverifiable: bool = False) -> "Holder":
        owner = owner or {}
        return cls(pid=owner.get("pid"), host=owner.get("host"), started_at=owner.get("started_at"),
                   cwd=owner.get("cwd"), purpose=owner.get("purpose"), token=owner.get("token"),
                   unverifiable=unverifiable)

    def describe(self) -> str:
        if self.pid is None and self.host is None:
            return "another process"
        what = {"run": "the run", None: "the run"}.get(self.purpose, f"`slmbench {self.purpose}`")
        where = f" from {self.cwd}" if self.cwd else ""
        return f"{what} started {self.started_at or '?'} (pid {self.pid} on host {self.host}{where})"


def study_lock_file(results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / STUDY_LOCK_DIR / STUDY_LOCK


def _owner_file(results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / STUDY_LOCK_DIR / STUDY_OWNER


def _key(path: Path) -> str:
    return str(path.resolve())


def holds_study(results_dir: str | os.PathLike) -> bool:
    """Whether this process holds the study's lock."""
    return _key(study_lock_file(results_dir)) in _held_fds


def study_lock_holder(results_dir: str | os.PathLike) -> Optional[Holder]:
    """The run that holds the study in `results_dir`, or None (nobody, or this process). Changes nothing: the
    flock is probed and released at once. A run on another machine whose owner file is still there counts as a
    holder (`unverifiable`): it cannot be checked from here."""
    lock_file = study_lock_file(results_dir)
    if _key(lock_file) in _held_fds or not lock_file.exists():
        return None
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return Holder.from_owner(_read_owner(_owner_file(results_dir)))
    finally:
        os.close(fd)  # closing releases a flock we took
    owner = _read_owner(_owner_file(results_dir))
    if owner and not _this_machine(owner):
        return Holder.from_owner(owner, unverifiable=True)
    return None


def _refusal(holder: Holder, results_dir, doing: str) -> UserError:
    where = Path(results_dir).resolve()
    if holder.unverifiable:
        return UserError(f"the study in {where} is held by {holder.describe()}, which cannot be checked from "
                         f"{socket.gethostname()}; if it is no longer running, run `snakemake --unlock` with the same "
                         f"arguments, then {doing}")
    return UserError(f"{holder.describe()} is working on the study in {where}; wait for it (`slmbench status` "
                     f"shows its progress) or stop it, then {doing}")


def _exclusive(fd: int, tries: int = 5) -> bool:
    """An exclusive flock, or False. A few short tries: `status` probing the lock holds it for a moment."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            if attempt + 1 < tries:
                time.sleep(0.05)
    return False


def claim_study(results_dir: str | os.PathLike, *, purpose: str = "run", unlocking: bool = False,
                doing: str = "start again") -> None:
    """Make this process the only one working on the study in `results_dir`, until it exits or calls
    release_study. Raises UserError (one line naming the holder) when another holds it. `unlocking`
    (snakemake --unlock): the user vouches that a run recorded on another machine is gone."""
    lock_file = study_lock_file(results_dir)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    key = _key(lock_file)
    if key in _held_fds:
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    if not _exclusive(fd):
        os.close(fd)
        raise _refusal(Holder.from_owner(_read_owner(_owner_file(results_dir))), results_dir, doing)
    owner = _read_owner(_owner_file(results_dir))
    if owner and not _this_machine(owner) and not unlocking:
        os.close(fd)
        raise _refusal(Holder.from_owner(owner, unverifiable=True), results_dir, doing)
    token = os.environ.get(RUN_TOKEN_ENV) if purpose == "run" else None
    token = token or new_run_token()
    _write_owner(_owner_file(results_dir), {
        "pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id(), "token": token,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cwd": os.getcwd(),
        "purpose": purpose, "command": " ".join(sys.argv)[:300]})
    _held_fds[key] = (fd, token, Path(results_dir).resolve())
    if purpose == "run":
        os.environ[RUN_TOKEN_ENV] = token  # the jobs this run starts inherit it


def release_study(results_dir: str | os.PathLike) -> None:
    """Give the study back: the owner file goes first (so no one reads a stale owner), then the flock."""
    held = _held_fds.pop(_key(study_lock_file(results_dir)), None)
    if held is None:
        return
    fd, token, _ = held
    owner_file = _owner_file(results_dir)
    owner = _read_owner(owner_file)
    if owner and owner.get("token") == token:
        try:
            owner_file.unlink()
        except OSError:
            pass
    os.close(fd)


@atexit.register
def _release_all() -> None:
    for _, _, results_dir in list(_held_fds.values()):
        release_study(results_dir)


def is_job_of_holder(results_dir: str | os.PathLike) -> bool:
    """True in a job started by the run that holds the study (its token is in our environment)."""
    token = os.environ.get(RUN_TOKEN_ENV)
    owner = _read_owner(_owner_file(results_dir))
    return bool(token and owner and owner.get("token") == token)


def find_study_root(path: str | os.PathLike) -> Optional[Path]:
    """The study (results directory) a file belongs to: the nearest folder above it with a study lock."""
    here = Path(path).absolute().parent
    for folder in (here, *here.parents):
        if study_lock_file(folder).exists():
            return folder
    return None


@contextmanager
def writing_into_study(path: str | os.PathLike, purpose: str) -> Iterator[None]:
    """Around a command that writes `path`: when it lies in a study, the study is held for the writing (a run
    started meanwhile is refused), or the write is refused while another run holds it; a job of the holding
    run writes freely. Outside any study nothing is locked."""
    root = find_study_root(path)
    if root is None or holds_study(root) or is_job_of_holder(root):
        yield
        return
    claim_study(root, purpose=purpose, doing=f"run `slmbench {purpose}` again")
    try:
        yield
    finally:
        release_study(root)


# --- Snakemake's own lock, in the working directory -----------------------------------------------------------

_workdir_fds: dict = {}  # workdir -> fd of the shared flock this run holds there


def claim_workdir(workdir: str | os.PathLike = ".", unlocking: bool = False) -> Optional[str]:
    """Join the runs of `workdir`; when this is the only one, remove the Snakemake lock a dead run left there.
    Returns a message when a lock was removed. Raises UserError when the lock was left by a run on another
    machine (unless `unlocking`: snakemake --unlock, the user vouches)."""
    key = str(Path(workdir).resolve())
    if key in _workdir_fds:
        return None
    meta = Path(workdir) / ".snakemake"
    meta.mkdir(parents=True, exist_ok=True)
    owner_file = meta / "slmbench_owner.json"
    fd = os.open(meta / "slmbench_run.lock", os.O_RDWR | os.O_CREAT, 0o666)
    message = None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        alone = True
    except OSError:
        alone = False  # another run of this directory is alive: its Snakemake locks are its own
    try:
        if alone:
            message = _clear_dead_runs_locks(meta, _read_owner(owner_file), unlocking)
            _write_owner(owner_file, {
                "pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id(),
                "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        fcntl.flock(fd, fcntl.LOCK_SH)  # from exclusive (or nothing) to shared: the others may join now
    except BaseException:
        os.close(fd)
        raise
    _workdir_fds[key] = fd
    return message


def _clear_dead_runs_locks(meta: Path, owner: Optional[dict], unlocking: bool) -> Optional[str]:
    """Called as the only live run of the directory: remove Snakemake's locks when the run that left them is
    provably dead."""
    locks = meta / "locks"
    held = locks.is_dir() and any(locks.iterdir())
    if not held or unlocking:
        return None
    if owner is None:
        return None  # a lock we know nothing about: leave it to Snakemake (and --unlock)
    if not _this_machine(owner):
        raise UserError(
            f"this working directory is locked by {Holder.from_owner(owner).describe()}, which cannot be checked "
            f"from {socket.gethostname()}; if that run is no longer running, run `snakemake --unlock` with the "
            f"same arguments and start again")
    for lock in locks.iterdir():
        lock.unlink()
    return (f"slmbench: removed the lock left by a run that was killed (pid {owner.get('pid')}); "
            f"unfinished jobs will be redone")


def stale_lock_owner(workdir: str | os.PathLike = ".") -> Optional[dict]:
    """The recorded owner of Snakemake locks that a real run would remove now (a dead run on this machine), or
    None. Changes nothing: what a dry run reports."""
    meta = Path(workdir) / ".snakemake"
    locks = meta / "locks"
    if not (locks.is_dir() and any(locks.iterdir())):
        return None
    owner = _read_owner(meta / "slmbench_owner.json")
    if owner is None or not _this_machine(owner) or not _workdir_alone(meta / "slmbench_run.lock"):
        return None
    return owner


def _workdir_alone(lock_file: Path) -> bool:
    if str(lock_file.parent.parent.resolve()) in _workdir_fds:
        return False
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
