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


# More cores than any board has: Snakemake caps a job's threads at --cores, so a job asking for this many
# runs with nothing beside it.
ALL_CORES = 1024


def quiet_threads(config: Mapping) -> tuple:
    """(threads of the doctor and idle baseline, threads of an inference shard). Quiet windows: a board-pinned
    job takes every local core, so no other job of the workflow (judge, download, hashing, report) runs on the
    board while it measures. judge.overlap: true lets a (remote) judge run during a shard: the shard then asks
    only for the threads llama.cpp uses."""
    shard = (config["inference"]["n_threads"] or 1) if config["judge"]["overlap"] else ALL_CORES
    return ALL_CORES, shard
