# Reports from the merged runs and scores: the six workbooks, plots, summary.md, exports and validation.
# None of these touches the board, so they run beside inference when --cores > 1.
from slmbench.layout import EXPORT_CSV, EXPORT_RESPONSES_DIR, EXPORT_SUMMARY, PLOTS
from slmbench.report.settings import settings_from_config

# A changed report setting (levels, demo note, bootstrap, bandwidth table) reruns the reports (params trigger).
REPORT_SETTINGS = settings_from_config(config)
RUNS = f"{R}/runs_llamacpp.jsonl"
SCORES = f"{R}/scores_absolute.csv"
EXPORTED = f"{R}/exported_responses"


PLOT_FILES = {name: f"{R}/plots/{name}.png" for name in PLOTS}
# what `rule all` asks for beside the six workbooks (common.smk's final_outputs)
REPORT_OUTPUTS = list(PLOT_FILES.values()) + [
    f"{R}/summary.md",
    f"{EXPORTED}/{EXPORT_CSV}",
    f"{EXPORTED}/{EXPORT_SUMMARY}",
    f"{R}/validation.txt",
]


rule workbooks:
    input:
        runs=RUNS,
        scores=SCORES,
        # model file sizes for the decode roofline
        facts=expand(f"{R}/models/{{model}}.json", model=MODELS),
    output:
        quality=report(
            f"{R}/quality_scores_detailed.xlsx",
            caption="../report/quality_scores_detailed.rst",
            category="Workbooks",
        ),
        comparison=report(
            f"{R}/model_comparison.xlsx",
            caption="../report/model_comparison.rst",
            category="Workbooks",
        ),
        energy=report(
            f"{R}/energy_per_run.xlsx",
            caption="../report/energy_per_run.rst",
            category="Workbooks",
        ),
        latency=report(
            f"{R}/latency_per_run.xlsx",
            caption="../report/latency_per_run.rst",
            category="Workbooks",
        ),
        output_tokens=report(
            f"{R}/output_tokens_per_run.xlsx",
            caption="../report/output_tokens_per_run.rst",
            category="Workbooks",
        ),
        prompt_tokens=report(
            f"{R}/prompt_tokens_per_run.xlsx",
            caption="../report/prompt_tokens_per_run.rst",
            category="Workbooks",
        ),
    params:
        settings=REPORT_SETTINGS,
    log:
        f"{R}/logs/report/workbooks.log",
    script:
        "../scripts/report_workbooks.py"


rule plots:
    input:
        runs=RUNS,
        scores=SCORES,
    output:
        quality_vs_prompt_tokens=report(
            PLOT_FILES["quality_vs_prompt_tokens"],
            caption="../report/plot_quality_vs_prompt_tokens.rst",
            category="Plots",
        ),
        energy_quality_pareto=report(
            PLOT_FILES["energy_quality_pareto"],
            caption="../report/plot_energy_quality_pareto.rst",
            category="Plots",
        ),
        dimensions_radar=report(
            PLOT_FILES["dimensions_radar"],
            caption="../report/plot_dimensions_radar.rst",
            category="Plots",
        ),
        latency_energy_by_level=report(
            PLOT_FILES["latency_energy_by_level"],
            caption="../report/plot_latency_energy_by_level.rst",
            category="Plots",
        ),
        quality_gain_vs_extra_energy=report(
            PLOT_FILES["quality_gain_vs_extra_energy"],
            caption="../report/plot_quality_gain_vs_extra_energy.rst",
            category="Plots",
        ),
    params:
        settings=REPORT_SETTINGS,
    log:
        f"{R}/logs/report/plots.log",
    script:
        "../scripts/report_plots.py"


rule summary:
    input:
        runs=RUNS,
        scores=SCORES,
        plots=list(PLOT_FILES.values()),  # summary.md links them
    output:
        report(f"{R}/summary.md", caption="../report/summary.rst", category="Summary"),
    params:
        settings=REPORT_SETTINGS,
    log:
        f"{R}/logs/report/summary.log",
    script:
        "../scripts/report_summary.py"


rule export_responses:
    input:
        runs=RUNS,
        scores=SCORES,
    output:
        csv=f"{EXPORTED}/{EXPORT_CSV}",
        summary=f"{EXPORTED}/{EXPORT_SUMMARY}",
        texts=directory(f"{EXPORTED}/{EXPORT_RESPONSES_DIR}"),
    params:
        settings=REPORT_SETTINGS,
    log:
        f"{R}/logs/report/export_responses.log",
    script:
        "../scripts/export_responses.py"


rule validate:
    input:
        runs=RUNS,
        scores=SCORES,
        # the expected question ids
        prompts=[prompts_csv(c) for c in CATEGORIES],
    output:
        report(f"{R}/validation.txt", caption="../report/validation.rst", category="Summary"),
    params:
        expected={"models": list(MODELS), "levels": LEVELS, "categories": CATEGORIES},
        strict=config["report"]["strict_validation"],
    log:
        f"{R}/logs/report/validate.log",
    script:
        "../scripts/validate_results.py"
