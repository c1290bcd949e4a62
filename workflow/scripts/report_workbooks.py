# Snakemake shim: the six workbooks (slmbench.report.build_workbooks).
from pathlib import Path

from slmbench.report import build_workbooks
from slmbench.shim import run_step

settings = {**snakemake.params.settings, "model_facts": list(snakemake.input.facts)}
run_step(
    snakemake,
    lambda: build_workbooks(snakemake.input.runs, snakemake.input.scores, Path(snakemake.output[0]).parent, settings),
)
