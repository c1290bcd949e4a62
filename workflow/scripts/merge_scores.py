# Snakemake shim: merge the judged shards into scores_absolute.csv (slmbench.scores.merge_score_files).
from slmbench.scores import merge_score_files
from slmbench.shim import run_step

run_step(snakemake, lambda: merge_score_files(list(snakemake.input), snakemake.output[0]))
