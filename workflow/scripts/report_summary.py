# Snakemake shim: summary.md, the four questions answered (slmbench.report.write_summary).
from pathlib import Path

from slmbench.report import write_summary
from slmbench.shim import run_step

run_step(
    snakemake,
    lambda: write_summary(
        snakemake.input.runs,
        snakemake.input.scores,
        snakemake.output[0],
        snakemake.params.settings,
        plots_dir=Path(snakemake.input.plots[0]).parent,
    ),
)
