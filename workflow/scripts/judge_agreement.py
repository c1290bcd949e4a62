# Snakemake shim: agreement across repeats and between judges (slmbench.judge.agreement).
from slmbench.judge.agreement import write_agreement
from slmbench.shim import run_step

run_step(snakemake, lambda: write_agreement(snakemake.input[0], snakemake.output[0]))
