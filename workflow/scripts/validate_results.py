# Snakemake shim: validation.txt, the study's integrity checks (slmbench.report.validate_results).
from slmbench.report import validate_results
from slmbench.shim import run_step

expected = {**snakemake.params.expected, "prompt_csvs": list(snakemake.input.prompts)}
run_step(
    snakemake,
    lambda: validate_results(
        snakemake.input.runs, snakemake.input.scores, expected, snakemake.output[0], strict=snakemake.params.strict
    ),
)
