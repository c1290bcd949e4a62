# Snakemake shim: every report from one analysis: workbooks, plots, summary.md, exports (slmbench.report.build_reports).
from slmbench.report import build_reports
from slmbench.shim import run_step

settings = {**snakemake.params.settings, "model_facts": list(snakemake.input.facts)}
run_step(
    snakemake,
    lambda: build_reports(snakemake.input.runs, snakemake.input.scores, snakemake.params.outdir, settings),
)
