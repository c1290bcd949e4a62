"""The content-hash cache and the study's spending ledger: one sqlite file per study (judge.cache),
committed per entry, so a crash loses nothing paid for and the cost limit holds for the whole study, not
per job.

What is cached is a caller's finished result under the caller's content key (a verdict after its repair
retry, keyed by judge identity, rubric, question, reference, answer and repeat; a level text after its
length retries): a unit above one `complete()` call, so the cache sits beside the clients, never inside a
backend. Table names and columns are those of the first version: existing caches stay valid.

Several judge jobs may run at once (Snakemake --cores > 1): WAL mode and a busy timeout let them share it,
and a job reserves its estimated cost before it sends anything (BEGIN IMMEDIATE: one job checks at a time),
so two jobs cannot both pass the limit.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Dict, Optional

from ..errors import UserError
from ..locks import pid_alive

# A reservation from another host cannot be checked for a live process: trust it this long.
FOREIGN_RESERVATION_S = 12 * 3600
FEWER = {"verdicts": "judge fewer runs", "level texts": "generate fewer questions or levels"}  # the remedy


def content_key(*parts) -> str:
    """sha256 of the JSON list of `parts`: everything that decides a cached result (a client's identity
    among them, so one model's answer is never reused for another)."""
    payload = json.dumps(list(parts), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# sqlite's words for a disk (not a cache) problem: the file is fine, the disk under it is full or read-only
DISK_WORDS = ("disk is full", "disk i/o error", "unable to open", "readonly database", "read-only")


def _disk_problem(exc: BaseException) -> bool:
    return any(word in str(exc).lower() for word in DISK_WORDS)


def disk_error(path: Path, exc: BaseException) -> UserError:
    """One line naming the disk problem. The cache itself is healthy: every result committed so far is kept,
    and it must not be moved aside (that would throw away what was paid for, and the ledger)."""
    try:
        free = shutil.disk_usage(path.parent if path.parent.exists() else ".").free
        room = f", {free / 1e6:.1f} MB free"
    except OSError:
        room = ""
    detail = getattr(exc, "strerror", None) or str(exc)
    return UserError(f"{path}: cannot write to the disk ({detail}{room}); free space on that disk (or make it "
                     f"writable) "
                     f"and rerun: every result already stored in the cache is kept and will not be asked again")


def _rollback(db) -> None:
    try:
        db.execute("ROLLBACK")
    except sqlite3.Error:  # a failed COMMIT may already have rolled back
        pass


def _alive(host: str, pid: int, made_at: float) -> bool:
    if host != socket.gethostname():
        return time.time() - made_at < FOREIGN_RESERVATION_S
    return pid_alive(pid)


class ContentCache:
    """Results by content key (table `verdicts`), what each cost (table `spend`: the ledger), and the cost
    held by running jobs (table `reservations`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(path), timeout=60, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=60000")
            self.db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, row TEXT NOT NULL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS spend (key TEXT, judge TEXT, usd REAL, prompt_tokens INTEGER, "
                            "completion_tokens INTEGER, at REAL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS reservations (id INTEGER PRIMARY KEY, host TEXT, pid INTEGER, "
                            "usd REAL, at REAL)")
        except sqlite3.DatabaseError as exc:
            if _disk_problem(exc):
                raise disk_error(self.path, exc) from None
            raise UserError(f"{path}: not a usable cache ({exc}); move it aside (judge.cache) to start a new "
                            f"one") from None
        except OSError as exc:  # the folder cannot be made: a full or read-only disk
            raise disk_error(self.path, exc) from None
        self.lock = threading.Lock()  # one connection shared by the worker threads
        self.reservation: Optional[int] = None

    def get(self, key: str) -> Optional[dict]:
        with self.lock:
            found = self.db.execute("SELECT row FROM verdicts WHERE key = ?", (key,)).fetchone()
        if not found:
            return None
        try:
            return json.loads(found[0])
        except ValueError:
            return None  # a damaged entry is no result: asked again, and replaced when the new one is stored

    def put(self, key: str, row: dict, spender: str = "", usd: Optional[float] = None,
            usage: Optional[Dict[str, Optional[int]]] = None, release_usd: float = 0.0, store: bool = True) -> None:
        """Store a result and what it cost (`usd` and `usage` in the ledger, under `spender`: the judge's
        name), in one transaction; `release_usd` of this job's reservation is handed back at the same time,
        so spent + reserved never counts a result twice. `store=False`: only the spending is recorded (a reply
        that was paid for but is no result, such as one cut at its token budget)."""
        usage = usage or {}
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if store:
                    self.db.execute("INSERT OR REPLACE INTO verdicts (key, row) VALUES (?, ?)", (key, json.dumps(row)))
                self.db.execute("INSERT INTO spend VALUES (?, ?, ?, ?, ?, ?)",
                                (key, spender, usd, usage.get("prompt_tokens"), usage.get("completion_tokens"),
                                 time.time()))
                if self.reservation is not None and release_usd:
                    self.db.execute("UPDATE reservations SET usd = MAX(0, usd - ?) WHERE id = ?",
                                    (release_usd, self.reservation))
                self.db.execute("COMMIT")
            except BaseException as exc:
                _rollback(self.db)
                if isinstance(exc, sqlite3.OperationalError) and _disk_problem(exc):
                    raise disk_error(self.path, exc) from None
                raise

    def reserve(self, estimate: float, max_cost: float, n: int, what: str = "verdicts") -> None:
        """Hold `estimate` USD of the study's budget for this job (`n` results: verdicts, level texts), or raise
        if the limit would be passed."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                spent = float(self.db.execute("SELECT COALESCE(SUM(usd), 0) FROM spend").fetchone()[0])
                reserved = 0.0
                held = self.db.execute("SELECT id, host, pid, usd, at FROM reservations").fetchall()
                for rid, host, pid, usd, at in held:
                    if _alive(host, pid, at):
                        reserved += usd
                    else:  # a job that died without releasing its hold
                        self.db.execute("DELETE FROM reservations WHERE id = ?", (rid,))
                if spent + reserved + estimate > max_cost:
                    self.db.execute("COMMIT")
                    raise UserError(
                        f"judge budget: ${spent:.2f} spent so far in {self.path.name}, ${reserved:.2f} held by running "
                        f"judge jobs, and these {n} {what} are estimated at up to ${estimate:.2f}: that passes the "
                        f"limit ${max_cost:.2f} (judge.max_cost_usd or --max-cost); raise it or "
                        f"{FEWER.get(what, 'ask for fewer')}")
                cursor = self.db.execute("INSERT INTO reservations (host, pid, usd, at) VALUES (?, ?, ?, ?)",
                                         (socket.gethostname(), os.getpid(), estimate, time.time()))
                self.reservation = cursor.lastrowid
                self.db.execute("COMMIT")
            except UserError:
                raise
            except BaseException as exc:
                _rollback(self.db)
                if isinstance(exc, sqlite3.OperationalError) and _disk_problem(exc):
                    raise disk_error(self.path, exc) from None
                raise

    def release(self) -> None:
        if self.reservation is None:
            return
        with self.lock:
            self.db.execute("DELETE FROM reservations WHERE id = ?", (self.reservation,))
        self.reservation = None

    def close(self) -> None:
        self.release()
        self.db.close()
