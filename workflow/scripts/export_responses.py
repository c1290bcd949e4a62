# Snakemake shim: exported_responses/ (slmbench.report.export_responses).
from pathlib import Path

from slmbench.report import export_responses
from slmbench.shim import run_step

run_step(
    snakemake,
    lambda: export_responses(
        snakemake.input.runs, snakemake.input.scores, Path(snakemake.output.csv).parent, snakemake.params.settings
    ),
)
