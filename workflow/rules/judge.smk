# Judging: one job per inference shard, NOT pinned to the board, so it runs beside inference (--cores > 1).
# The API key is read from the environment inside the package; it never appears in params, logs or outputs.


rule judge_shard:
    input:
        unpack(judge_inputs),
    output:
        score_path("{model}", "{level}", "{category}"),
    threads: 1  # the in-process judge's llama.cpp threads (an HTTP judge uses no CPU to speak of)
    # judge.judges: every judge of the panel scores the shard here, one after the other
    params:
        settings={k: v for k, v in config["judge"].items() if k != "demo_note"},  # the note is for reports only
    log:
        f"{R}/logs/judge/{{model}}/{{level}}/{{category}}.log",
    script:
        "../scripts/judge_shard.py"


rule merge_scores:
    input:
        all_scores(),
    output:
        f"{R}/scores_absolute.csv",
    log:
        f"{R}/logs/merge_scores.log",
    script:
        "../scripts/merge_scores.py"


rule judge_agreement:
    input:
        f"{R}/scores_absolute.csv",
    output:
        f"{R}/judge_agreement.csv",
    log:
        f"{R}/logs/judge_agreement.log",
    script:
        "../scripts/judge_agreement.py"
