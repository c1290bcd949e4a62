# The boards, and the study's first rule on each: `doctor` sets the board's power mode (jetson section,
# through sudo -n) and checks the sensor, the llama.cpp build, the models, the disk and the judge key, so a
# problem stops the study in seconds instead of at hour three. Only the study on a Jetson (power.backend
# tegrastats) waits for it: the demo runs anywhere. `slmbench doctor` runs the same checks by hand.
import zlib

# This machine, or the SLURM nodes named in jetson.hosts (several boards sharing the shards).
BOARDS = config["jetson"]["hosts"] or [HOST]


def shard_board(w):
    """The board that runs a shard. A hash of the shard's name, not its position: running a subset of the
    categories, or adding one, never moves a finished shard (and its idle baseline) to another board."""
    return BOARDS[zlib.crc32(f"{w.model}/{w.level}/{w.category}".encode()) % len(BOARDS)]


def shard_idle(w):
    """The idle baseline of the shard's own board; ancient(): a re-measured baseline does not redo shards."""
    return ancient(f"{R}/power/idle_{shard_board(w)}.json")


def board_pin(host):
    """SLURM: run on that node and alone there (its power rail must measure one job); nothing on one board."""
    return f"--nodelist={host} --exclusive" if config["jetson"]["hosts"] else ""


def doctor_gate(host):
    """Input of a board's pinned jobs (idle baseline, shards). ancient(): rerunning the doctor (its report
    deleted) re-checks the board but does not redo measurements."""
    return ancient(f"{R}/doctor_{host}.txt") if config["power"]["backend"] == "tegrastats" else []


rule doctor:
    output:
        f"{R}/doctor_{{host}}.txt",
    params:
        apply=True,
    resources:
        jetson=1,  # it samples the sensor and switches the power mode: never beside a measurement
        slurm_extra=lambda w: board_pin(w.host),
    log:
        f"{R}/logs/doctor_{{host}}.log",
    script:
        "../scripts/doctor.py"
