# Snakemake shim: plots/<name>.png (slmbench.report.build_plots).
from pathlib import Path

from slmbench.report import build_plots
from slmbench.shim import run_step

run_step(
    snakemake,
    lambda: build_plots(
        snakemake.input.runs, snakemake.input.scores, Path(snakemake.output[0]).parent, snakemake.params.settings
    ),
)
