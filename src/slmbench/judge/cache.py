"""Verdict cache: sqlite keyed by a content hash, committed per verdict so a crash loses nothing paid for.

Several judge jobs may run at once (Snakemake --cores > 1): WAL mode and a busy timeout let them share it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Optional


def verdict_key(judge_model: str, rubric_version: str, question: str, reference: Optional[str], answer: str,
                repeat: int = 0) -> str:
    payload = json.dumps([judge_model, rubric_version, question, reference or "", answer, repeat], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class VerdictCache:
    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=60000")
        self.db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, row TEXT NOT NULL)")
        self.db.commit()
        self.lock = threading.Lock()  # one connection shared by the judge's worker threads

    def get(self, key: str) -> Optional[dict]:
        with self.lock:
            found = self.db.execute("SELECT row FROM verdicts WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def put(self, key: str, row: dict) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO verdicts (key, row) VALUES (?, ?)", (key, json.dumps(row)))
            self.db.commit()

    def close(self) -> None:
        self.db.close()
