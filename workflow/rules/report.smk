# Reports from the merged runs and scores: the six workbooks, plots, summary.md, exports and validation.
# One job computes the analysis once and writes every report from it (slmbench.report.build_reports); the
# validation reads only the files. None of these touches the board, so they run beside inference (--cores > 1).
from slmbench.layout import EXPORT_RESPONSES_DIR, PLOTS, WORKBOOKS
from slmbench.report.settings import settings_from_config

# A changed report setting (levels, demo note, bootstrap, bandwidth table) reruns the reports (params trigger).
REPORT_SETTINGS = settings_from_config(config)
# what `rule all` asks for beside the six workbooks (common.smk's final_outputs)
REPORT_OUTPUTS = [L.plot(name) for name in PLOTS] + [L.summary, L.export_csv, L.export_summary, L.validation]
# the outputs of the reports rule, named as the files, each with its caption in the Snakemake report
WORKBOOK_OUTPUTS = {
    name: report(L.workbook(name), caption=f"../report/{name}.rst", category="Workbooks") for name in WORKBOOKS
}
PLOT_OUTPUTS = {name: report(L.plot(name), caption=f"../report/plot_{name}.rst", category="Plots") for name in PLOTS}


rule reports:
    input:
        runs=L.runs,
        scores=L.scores_merged,
        # model file sizes for the decode roofline
        facts=expand(L.model_facts("{model}"), model=MODELS),
    output:
        **WORKBOOK_OUTPUTS,
        **PLOT_OUTPUTS,
        summary=report(L.summary, caption="../report/summary.rst", category="Summary"),
        export_csv=L.export_csv,
        export_summary=L.export_summary,
        export_texts=directory(f"{L.exported_dir}/{EXPORT_RESPONSES_DIR}"),
    params:
        settings=REPORT_SETTINGS,
        outdir=L.results_dir,
    log:
        L.log("report/reports"),
    script:
        "../scripts/reports.py"


rule validate:
    input:
        runs=L.runs,
        scores=L.scores_merged,
        # the expected question ids
        prompts=[L.prompts_csv(c) for c in CATEGORIES],
    output:
        report(L.validation, caption="../report/validation.rst", category="Summary"),
    params:
        expected={"models": list(MODELS), "levels": LEVELS, "categories": CATEGORIES},
        strict=config["report"]["strict_validation"],
    log:
        L.log("report/validate"),
    script:
        "../scripts/validate_results.py"
