# The boards, and the study's first rule on each: `doctor` sets the board's power mode (jetson section,
# through sudo -n) and checks the sensor, the llama.cpp build, the models, the disk and the judge key, so a
# problem stops the study in seconds instead of at hour three. Only the study on a Jetson (power.backend
# tegrastats) waits for it: the demo runs anywhere. `slmbench doctor` runs the same checks by hand.
rule doctor:
    output:
        L.doctor_report("{host}"),
    log:
        L.log("doctor_{host}"),
    priority: PREPARE  # every board checked before the first shard
    threads: BOARD_THREADS  # alone on the board while it measures (quiet window)
    resources:
        jetson=1,  # it samples the sensor and switches the power mode: never beside a measurement
        slurm_extra=lambda w: slurm_pin(config, w.host),
    params:
        apply=True,
    script:
        "../scripts/doctor.py"
