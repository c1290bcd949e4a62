"""Which board runs which shard: this machine, or the SLURM nodes named in jetson.hosts (several Jetsons
sharing the shards). Stdlib only and Python 3.10 compatible (the power commands import it); the rules ask it
while Snakemake plans the jobs."""

from __future__ import annotations

import socket
import zlib
from typing import List, Mapping


def host_id() -> str:
    """This machine's name as the workflow writes it into file names (idle_<host>.json, doctor_<host>.txt)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in socket.gethostname()) or "host"


def study_boards(config: Mapping) -> List[str]:
    """The boards of the study: jetson.hosts, or this machine alone."""
    return list(config["jetson"]["hosts"] or []) or [host_id()]


def shard_board(boards: List[str], model: str, level: str, category: str) -> str:
    """The board that runs a shard: every level of a (model, category) runs on the same board, so a level
    comparison of a question is never a comparison of two boards (each record carries `board` for the reports).
    A hash of the names, not a position: running a subset of the categories, or adding one, never moves a
    finished shard (and its idle baseline) to another board. `level` is accepted and deliberately unused."""
    del level
    return boards[zlib.crc32(f"{model}/{category}".encode()) % len(boards)]


def slurm_pin(config: Mapping, host: str) -> str:
    """SLURM: run on that node and alone there (its power rail must measure one job); nothing on one board."""
    return f"--nodelist={host} --exclusive" if config["jetson"]["hosts"] else ""
