# Idle baseline: the board's power at rest, subtracted from every inference's energy (net = gross - idle x
# duration). Pinned to the board like the shards, so it never runs while a shard loads the board. With
# power.backend none it finishes at once with median_mw null; a named backend that is unavailable fails here,
# before any inference. Changing a power setting re-measures it (params trigger); the shards take it as
# ancient(), so a re-measured baseline does not redo them.
# Several power modes (jetson.power_modes): one baseline per mode, each measured after switching the board into
# it (settled and verified: slmbench.power_modes), all before the first shard (priority above every shard's).
IDLE_SWITCH = (
    f"{{SLMBENCH}} power-mode set {{wildcards.mode:q}} --settle-s {SETTLE_S} --clocks={CLOCKS} && " if MODES else ""
)
IDLE_RANK = idle_ranks(MODES, config["inference"]["order_seed"]) if MODES else {}


rule power_idle:
    input:
        doctor=lambda w: doctor_gate(w.host),  # the study: measured in the power mode the doctor rule set
    output:
        L.idle("{host}", "{mode}" if MODES else None),
    log:
        L.log("power/idle_{host}_{mode}" if MODES else "power/idle_{host}"),
    # several power modes: every baseline before any shard, the last in the mode the first shard runs in
    priority: lambda w: len(ORDER) + 1 + IDLE_RANK[w.mode] if MODES else 0
    threads: BOARD_THREADS  # alone on the board while it measures (quiet window)
    resources:
        jetson=1,
        slurm_extra=lambda w: slurm_pin(config, w.host),  # several boards (jetson.hosts): measured on that board
    params:
        backend=config["power"]["backend"],
        seconds=config["power"]["idle_seconds"],
        settle=config["power"]["settle_seconds"],
        interval_ms=config["power"]["interval_ms"],
        max_gap_factor=config["power"]["max_gap_factor"],
        tegrastats_path=config["power"]["tegrastats_path"],
        rails=config["power"]["rails"] or [],
    shell:
        "( "
        + IDLE_SWITCH
        + "{SLMBENCH} power idle --out {output:q} --host {wildcards.host:q} --backend {params.backend:q}"
        " --seconds {params.seconds:q} --settle {params.settle:q} --interval-ms {params.interval_ms:q}"
        " --max-gap-factor {params.max_gap_factor:q} --tegrastats-path {params.tegrastats_path:q}"
        " --rails {params.rails:q} ) 2> {log:q}"


# The power sensor's lag (slmbench power calibrate: idle, then stamped CPU bursts, fit to the trace): a property of
# the board's sensor, one per host, measured alone on the board before its first shard (power.calibration_steps;
# 0 or no sensor: the file says so and the windows keep their arrival times). The shards take it as ancient().
rule power_calibrate:
    input:
        doctor=lambda w: doctor_gate(w.host),
    output:
        L.calibration("{host}"),
    log:
        L.log("power/calibration_{host}"),
    priority: lambda w: len(ORDER) + 1
    threads: BOARD_THREADS
    resources:
        jetson=1,
        slurm_extra=lambda w: slurm_pin(config, w.host),
    params:
        backend=config["power"]["backend"],
        steps=config["power"]["calibration_steps"],
        interval_ms=config["power"]["interval_ms"],
        max_gap_factor=config["power"]["max_gap_factor"],
        tegrastats_path=config["power"]["tegrastats_path"],
        rails=config["power"]["rails"] or [],
    shell:
        "{SLMBENCH} power calibrate --out {output:q} --host {wildcards.host:q} --backend {params.backend:q}"
        " --steps {params.steps} --interval-ms {params.interval_ms:q} --max-gap-factor {params.max_gap_factor:q}"
        " --tegrastats-path {params.tegrastats_path:q} --rails {params.rails:q} 2> {log:q}"
