# Reports from the merged runs and scores: the six workbooks, plots, summary.md, exports, validation and the
# results viewer. One job computes the analysis once and writes every report from it
# (slmbench.report.build_reports), then the viewer; validation reads only the files. The validation and the
# judge agreement are inputs of the reports, so any report as a target (the README's
# `snakemake --cores 1 results/model_comparison.xlsx`) also brings them up to date. None of these touches
# the board.
from slmbench.layout import EXPORT_RESPONSES_DIR, PLOT_FORMATS, PLOTS, WORKBOOKS
from slmbench.report.settings import settings_from_config

# A changed report setting (levels, demo note, bootstrap, bandwidth table) reruns the reports (params trigger).
REPORT_SETTINGS = settings_from_config(config)
# what `rule all` asks for beside the six workbooks (common.smk's final_outputs)
REPORT_OUTPUTS = L.plot_files() + [L.summary, L.summary_by_level, L.export_csv, L.export_summary]
REPORT_OUTPUTS += [L.validation, L.judge_agreement, L.index_html]
# the outputs of the reports rule, named as the files, each with its caption and labels in the Snakemake report
WORKBOOK_OUTPUTS = {
    name: report(
        L.workbook(name),
        caption=f"../report/{name}.rst",
        category="Workbooks",
        labels={"workbook": f"{name}.xlsx"},
    )
    for name in WORKBOOKS
}

# each figure as a 300-dpi PNG (shown in the Snakemake report) and as a vector PDF beside it, for a paper
PLOT_OUTPUTS = {
    f"{name}_png": report(
        L.plot(name, "png"),
        caption=f"../report/plot_{name}.rst",
        category="Plots",
        labels={"figure": name, "format": "PNG (the PDF beside it)"},
    )
    for name in PLOTS
}
PLOT_OUTPUTS.update({f"{name}_{ext}": L.plot(name, ext) for name in PLOTS for ext in PLOT_FORMATS if ext != "png"})


rule reports:
    input:
        runs=L.runs,
        scores=L.scores_merged,
        # model file sizes for the decode roofline
        facts=expand(L.model_facts("{model}"), model=MODELS),
        # not read by the analysis: built first so that a report as a target leaves no stale file behind
        validation=L.validation,
        agreement=L.judge_agreement,
    output:
        **WORKBOOK_OUTPUTS,
        **PLOT_OUTPUTS,
        summary=report(
            L.summary,
            caption="../report/summary.rst",
            category="Summary",
            labels={"file": "summary.md", "what": "the answers in sentences"},
        ),
        summary_by_level=L.summary_by_level,
        export_csv=L.export_csv,
        export_summary=L.export_summary,
        export_texts=directory(f"{L.exported_dir}/{EXPORT_RESPONSES_DIR}"),
        # the static results viewer (one offline page): every question's answers and scores per level and
        # model, the headline tables, the plots, the validation result and links to the workbooks
        viewer=report(
            L.index_html,
            caption="../report/viewer.rst",
            category="Summary",
            labels={"file": "index.html", "what": "the results viewer"},
        ),
    log:
        L.log("report/reports"),
    params:
        settings=REPORT_SETTINGS,
        outdir=lambda w, output: os.path.dirname(output.summary),  # <results_dir>
        note=config["judge"]["demo_note"] or "",
    script:
        "../scripts/reports.py"


rule validate:
    input:
        runs=L.runs,
        scores=L.scores_merged,
        # the expected question ids
        prompts=[L.prompts_csv(c) for c in CATEGORIES],
    output:
        report(
            L.validation,
            caption="../report/validation.rst",
            category="Summary",
            labels={"file": "validation.txt", "what": "the integrity checks"},
        ),
    log:
        L.log("report/validate"),
    params:
        expected={"models": list(MODELS), "levels": LEVELS, "categories": CATEGORIES},
        strict=config["report"]["strict_validation"],
    script:
        "../scripts/validate_results.py"
