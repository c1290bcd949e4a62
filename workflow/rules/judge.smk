# Judging: one job per inference shard, NOT pinned to the board, so it runs beside inference (--cores > 1).
# The API key is read from the environment inside the package; it never appears in params, logs or outputs.


rule judge_shard:
    input:
        unpack(judge_inputs),
        questions=config["questions"]["file"],  # its corrected `reference` fields come before the reference file
    output:
        L.scores("{model}", "{level}", "{category}"),
    log:
        L.log("judge/{model}/{level}/{category}"),
    benchmark:
        L.benchmark("judge/{model}/{level}/{category}")  # the measured time per judge job: status's judging ETA
    threads: 1  # the in-process judge's llama.cpp threads (an HTTP judge uses no CPU to speak of)
    # judge.judges: every judge of the panel scores the shard here, one after the other
    params:
        settings={k: v for k, v in config["judge"].items() if k != "demo_note"},  # the note is for reports only
    script:
        "../scripts/judge_shard.py"


rule merge_scores:
    input:
        all_scores(),
    output:
        L.scores_merged,
    log:
        L.log("merge_scores"),
    script:
        "../scripts/merge_scores.py"


rule judge_agreement:
    input:
        L.scores_merged,
    output:
        L.judge_agreement,
    log:
        L.log("judge_agreement"),
    script:
        "../scripts/judge_agreement.py"
