# Snakemake shim: every report from one analysis (workbooks, plots, summary.md, exports), then the viewer page.
from slmbench.report import build_reports
from slmbench.report.viewer import write_index_html
from slmbench.shim import run_step


def reports():
    settings = {**snakemake.params.settings, "model_facts": list(snakemake.input.facts)}
    build_reports(snakemake.input.runs, snakemake.input.scores, snakemake.params.outdir, settings)
    write_index_html(snakemake.input.runs, snakemake.input.scores, snakemake.params.outdir, snakemake.output.viewer,
                     note=snakemake.params.note or None)


run_step(snakemake, reports)
