# Snakemake shim: the doctor rule on one board. Every check goes to the log, the report to doctor_<host>.txt;
# a failed check stops the study with one line naming it (slmbench.doctor).
import sys

from slmbench.doctor import failures, run_doctor, summary
from slmbench.errors import UserError
from slmbench.power.idle import host_id
from slmbench.shim import run_step


def doctor():
    host = snakemake.wildcards.host
    if host != host_id():
        raise UserError(f"{snakemake.output[0]} is the check of board {host}, but this is {host_id()}; it must run "
                        f"there (jetson.hosts and the SLURM node names must match)")
    checks = run_doctor(snakemake.config, snakemake.output[0], apply=snakemake.params.apply, stream=sys.stderr)
    if failures(checks):
        raise UserError(f"{summary(checks)}; every check is in {snakemake.log[0]} (or run `slmbench doctor`)")


run_step(snakemake, doctor)
