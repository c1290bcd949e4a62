# slmbench: how prompt length and style change quality, latency and energy of small language models on Jetson.
# The study (config/config.yaml) is the default; the demo: --configfile config/demo.yaml (README.md). There is no
# `configfile:` here on purpose: Snakemake would merge a --configfile over it, and a study file missing a key
# would silently take the default's value. The config files given are the whole config (common.smk).
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/doctor.smk"
include: "workflow/rules/prompts.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/power.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/judge.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_outputs(),


# The plan (or what is left) with its time and judge cost before the run; the validation result at its end.
onstart:
    from slmbench.console import register_study
    from slmbench.status import start_lines

    register_study(config, CONFIGFILES)  # the progress lines' time left (the logger plugin of profiles/default)
    try:  # a status that cannot be read must not stop the run
        print(start_lines(config, CONFIGFILES), file=sys.stderr, flush=True)
    except Exception as exc:
        print(f"slmbench: no plan estimate ({exc}); see `slmbench status`", file=sys.stderr)


onsuccess:
    from slmbench.status import run_end_line

    print(run_end_line(L), file=sys.stderr, flush=True)


# Last, when every rule exists: each input/params/resources function is inspected once, not per call (planning.py)
from slmbench.planning import remember_function_signatures

remember_function_signatures(workflow)
