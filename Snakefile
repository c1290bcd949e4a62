# slmbench: how prompt length and style change quality, latency and energy of small language models on Jetson.
# The demo (config/demo.yaml) is the default; the study: --configfile config/config.yaml (see README.md).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/demo.yaml"


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


# Last, when every rule exists: each input/params/resources function is inspected once, not per call (planning.py)
from slmbench.planning import remember_function_signatures

remember_function_signatures(workflow)
