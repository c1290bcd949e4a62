"""Names of the report outputs, shared by the package and workflow/rules/report.smk (no heavy imports)."""

from __future__ import annotations

WORKBOOKS = (
    "quality_scores_detailed",
    "model_comparison",
    "energy_per_run",
    "latency_per_run",
    "output_tokens_per_run",
    "prompt_tokens_per_run",
)

# PNG files written to <results_dir>/plots/<name>.png and placed in model_comparison.xlsx
PLOTS = (
    "quality_vs_prompt_tokens",
    "energy_quality_pareto",
    "dimensions_radar",
    "latency_energy_by_level",
    "quality_gain_vs_extra_energy",
)

EXPORT_CSV = "all_responses.csv"
EXPORT_SUMMARY = "summary_report.txt"
EXPORT_RESPONSES_DIR = "responses_by_model"
