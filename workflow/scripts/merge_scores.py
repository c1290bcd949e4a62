# Snakemake shim: merge the judged shards into scores_absolute.csv (slmbench.judge.merge_scores).
from slmbench.judge import merge_scores
from slmbench.shim import run_step

run_step(snakemake, lambda: merge_scores(list(snakemake.input), snakemake.output[0]))
