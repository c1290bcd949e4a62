# Inference shards: one per (model, level, category), pinned to the board. The command runs under
# inference.python, which may be another interpreter than Snakemake's (JetPack 6: system Python 3.10).
import json

from slmbench.mode_order import mode_positions
from slmbench.run_order import positions

# What a shard's measurement depends on (a param: a change redoes the shards). Not the interpreter, not how many
# shards are repeated (inference.shard_repeats) and not the calibration's length (power.calibration_steps).
INFERENCE_SETTINGS = json.dumps(
    {
        **{k: v for k, v in config["inference"].items() if k not in ("python", "shard_repeats")},
        "power": {k: v for k, v in config["power"].items() if k != "calibration_steps"},
    },
    sort_keys=True,
)
# The designed order (slmbench.run_order): Snakemake runs the ready job of highest priority first. The position
# goes to the shard as a resource, not a param, so adding a category (which moves positions) redoes no shard.
# With several power modes (jetson.power_modes) each round of that order runs once per mode (slmbench.mode_order).
ORDER = (
    mode_positions(list(MODELS), LEVELS, CATEGORIES, config["inference"]["order_seed"], MODES)
    if MODES
    else positions(list(MODELS), LEVELS, CATEGORIES, config["inference"]["order_seed"])
)
# A study of several modes: the shard switches the board into its mode, settles and verifies it first. In the
# command, not in params: a changed settling time redoes no shard (the mode itself is in the shard's path).
SWITCH = f" --power-mode {{wildcards.mode:q}} --settle-s {SETTLE_S} --clocks={CLOCKS}" if MODES else ""
SHARD_NAME = "{model}/{level}/{category}/{mode}" if MODES else "{model}/{level}/{category}"


rule infer_shard:
    input:
        prompts=lambda w: L.prompts_csv(w.category),
        model=lambda w: ancient(model_path(w.model)),
        facts=L.model_facts("{model}"),
        # a re-measured idle baseline is a calibration of the board, not a reason to redo 1600 inferences
        idle=shard_idle,  # the baseline of the board the shard runs on (doctor.smk)
        calibration=shard_calibration,  # the lag of that board's power sensor (power.smk)
        doctor=lambda w: doctor_gate(shard_board(w)),  # the study on a Jetson: board checked, power mode set
        chat_template=lambda w: MODELS[w.model]["chat_template"] or [],
        audit=ancient(L.prompt_audit),  # the prompts audited first; ancient(): re-auditing redoes no shard
    output:
        L.shard("{model}", "{level}", "{category}", "{mode}" if MODES else None),
    log:
        L.log(f"inference/{SHARD_NAME}"),
    benchmark:
        L.benchmark(f"inference/{SHARD_NAME}")
    priority: lambda w: len(ORDER) - ORDER[shard_key(w)]
    # Quiet windows: a shard takes every local core, so no other job of the workflow (judge, download, hashing,
    # report) runs on the board while it is measured; judge.overlap opts out (a remote judge, measured cost).
    threads: SHARD_THREADS
    resources:
        jetson=1,
        slurm_extra=lambda w: slurm_pin(config, shard_board(w)),  # several boards (jetson.hosts): run on its own
        order_position=lambda w: ORDER[shard_key(w)],
        board=shard_board,
        shard_repeat=0,  # a resource, not a param: the repeat_shard rule below runs the same command with 1
    params:
        python=INFERENCE_PYTHON,
        settings=INFERENCE_SETTINGS,
        chat_format=lambda w: MODELS[w.model]["chat_format"] or "",
        chat_template=lambda w: MODELS[w.model]["chat_template"] or "",
        template_kwargs=lambda w: json.dumps(MODELS[w.model]["chat_template_kwargs"], sort_keys=True),
    shell:
        "{params.python:q} -m slmbench.inference --prompts {input.prompts:q} --model-id {wildcards.model:q}"
        " --model-file {input.model:q} --model-facts {input.facts:q} --level {wildcards.level:q}"
        " --category {wildcards.category:q} --idle {input.idle:q} --calibration {input.calibration:q}"
        " --shard-repeat {resources.shard_repeat} --chat-format={params.chat_format:q}"
        " --chat-template={params.chat_template:q} --chat-template-kwargs={params.template_kwargs:q}"
        " --settings {params.settings:q} --shard-position {resources.order_position} --board {resources.board:q}"
        " --out {output:q}" + SWITCH +
        # the live lines (one per answer, the model load, the idle power, an error) also on the console;
        # pipefail (Snakemake's shell default) keeps the job's failure when inference fails; grep finding no
        # line is no failure
        " 2>&1 | tee {log:q} | {{ grep --line-buffered -E '^([[]|model |idle power|slmbench: )' || true; }} >&2"


# inference.shard_repeats: a seeded few shards per model measured once more, whole, after every shard of the
# study (priority below all of them): the two runs of a shard share their questions, so their difference is the
# shard's own noise (a shared idle baseline, thermal state). Never judged; merged beside the runs, not into them.
REPEATED = {key: len(ORDER) + i for i, key in enumerate(repeated_keys())}


use rule infer_shard as repeat_shard with:
    output:
        L.shard_repeat("{model}", "{level}", "{category}", "{mode}" if MODES else None),
    log:
        L.log(f"inference/{SHARD_NAME}.repeat1"),
    benchmark:
        L.benchmark(f"inference/{SHARD_NAME}.repeat1")
    priority: 0
    resources:
        jetson=1,
        slurm_extra=lambda w: slurm_pin(config, shard_board(w)),
        order_position=lambda w: REPEATED[shard_key(w)],
        board=shard_board,
        shard_repeat=1,


rule repeat_shards:
    input:
        all_repeat_shards(),


rule merge_runs:
    input:
        shards=all_shards(),
        shard_repeats=all_repeat_shards(),
    output:
        runs=L.runs,
        repeats=L.timing_repeats,
        shard_repeats=L.shard_repeats,
    log:
        L.log("merge_runs"),
    params:
        absent=absent(all_shards),  # a shard deleted by hand: redone with what is made from it
    shell:
        "{SLMBENCH} merge --out {output.runs:q} --repeats-out {output.repeats:q}"
        " --shard-repeats-out {output.shard_repeats:q} {input:q} 2> {log:q}"
