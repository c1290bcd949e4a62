# Snakemake shim: judge one inference shard (slmbench.judge.judge_shard).
from slmbench.judge import judge_shard
from slmbench.live import JUDGE_CONSOLE_PREFIXES
from slmbench.shim import run_step

run_step(
    snakemake,
    lambda: judge_shard(
        snakemake.input.runs,
        snakemake.input.prompts,
        snakemake.input.get("references"),
        snakemake.output[0],
        {**snakemake.params.settings, "n_threads": snakemake.threads},
        questions_path=snakemake.input.questions,  # its own corrected `reference` fields come first
    ),
    echo=JUDGE_CONSOLE_PREFIXES,  # one line per verdict on the console too
)
