"""Every path of a study, in one place: the rules, the CLI, the doctor and the reports all ask this module.

Stdlib only and Python 3.10 compatible (the inference step may run under JetPack 6's system Python).
Paths are returned as strings relative to the working directory, exactly as Snakemake spells them, so a
rule's output and a reader's input are the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

# The six workbooks the study asks for, in the order they are written.
WORKBOOKS = (
    "quality_scores_detailed",
    "model_comparison",
    "energy_per_run",
    "latency_per_run",
    "output_tokens_per_run",
    "prompt_tokens_per_run",
)

# Figures written to <results_dir>/plots/<name>.<ext> for every ext of PLOT_FORMATS (the PNG is also placed
# in model_comparison.xlsx)
PLOTS = (
    "quality_vs_prompt_tokens",
    "energy_quality_pareto",
    "dimensions_radar",
    "latency_energy_by_level",
    "quality_gain_vs_extra_energy",
    "quality_by_level",
    "power_modes_by_model",
)
PLOT_FORMATS = ("png", "pdf")  # 300-dpi raster and vector

# Tidy per (model, level, metric) table: mean, CI, n
SUMMARY_BY_LEVEL_CSV = "summary_by_level.csv"

EXPORT_CSV = "all_responses.csv"
EXPORT_SUMMARY = "summary_report.txt"
EXPORT_RESPONSES_DIR = "responses_by_model"

PROMPTS_CSV_SUFFIX = "_prompts_hierarchical.csv"
ALL_PROMPTS_CSV = "prompts_hierarchical.csv"  # `slmbench prompts convert` without --split: every category in one
# the merged files under <results_dir> (the study's names: its checks grep the runs file)
RUNS_FILE = "runs_llamacpp.jsonl"
SCORES_FILE = "scores_absolute.csv"


def timing_repeats_beside(runs_path) -> str:
    """The timing-repeats file that belongs to a merged runs file (same folder)."""
    import os

    return os.path.join(os.path.dirname(str(runs_path)), "timing_repeats.jsonl")


def shard_repeats_beside(runs_path) -> str:
    """The shard-repeats file that belongs to a merged runs file (same folder)."""
    import os

    return os.path.join(os.path.dirname(str(runs_path)), "shard_repeats.jsonl")


def shard_keys(models: Sequence[str], levels: Sequence[str], categories: Sequence[str],
               modes: Sequence[str] = ()) -> List[tuple]:
    """Every shard of a study: (model, level, category), or (model, level, category, mode) for each power mode of
    a study with several (slmbench.power_modes.study_modes); `StudyLayout.shard(*key)` is its file."""
    if modes:
        return [(m, lv, c, mode) for m in models for lv in levels for c in categories for mode in modes]
    return [(m, lv, c) for m in models for lv in levels for c in categories]


def prompts_csv_name(category: str) -> str:
    """`<category>_prompts_hierarchical.csv`: the seed's name for one category's prompt file."""
    return f"{category}{PROMPTS_CSV_SUFFIX}"


def category_of_prompts_csv(filename: str) -> str | None:
    """The category a prompt file's name declares, or None for a name not in the seed's form."""
    return filename[: -len(PROMPTS_CSV_SUFFIX)] if filename.endswith(PROMPTS_CSV_SUFFIX) else None


@dataclass(frozen=True)
class StudyLayout:
    """The files of one study, derived from three config keys (results_dir, prompts.csv_dir, models_dir)."""

    results_dir: str
    prompts_dir: str
    models_dir: str

    @classmethod
    def from_config(cls, config: Mapping) -> "StudyLayout":
        return cls(
            results_dir=str(config["results_dir"]).rstrip("/"),
            prompts_dir=str(config["prompts"]["csv_dir"]).rstrip("/"),
            models_dir=str(config["models_dir"]).rstrip("/"),
        )

    # --- inputs ---
    def prompts_csv(self, category: str) -> str:
        return f"{self.prompts_dir}/{prompts_csv_name(category)}"

    def model_file(self, filename: str) -> str:
        return f"{self.models_dir}/{filename}"

    @property
    def generated_sheet(self) -> str:
        return f"{self.results_dir}/prompts/generated_prompts.xlsx"

    @property
    def token_report(self) -> str:
        return f"{self.results_dir}/prompts/token_report.csv"

    @property
    def prompt_audit(self) -> str:
        return f"{self.results_dir}/prompts/prompt_audit.csv"

    @property
    def prompt_review(self) -> str:
        return f"{self.results_dir}/prompts/prompt_review.xlsx"

    # --- the board ---
    def doctor_report(self, host: str) -> str:
        return f"{self.results_dir}/doctor_{host}.txt"

    def idle(self, host: str, mode: Optional[str] = None) -> str:
        """The board's idle baseline; in a study of several power modes, one per mode."""
        if mode is not None:
            return f"{self.results_dir}/power/{mode}/idle_{host}.json"
        return f"{self.results_dir}/power/idle_{host}.json"

    def calibration(self, host: str) -> str:
        """The board's power-sensor lag (slmbench power calibrate): a property of the sensor, one per host."""
        return f"{self.results_dir}/power/calibration_{host}.json"

    def model_facts(self, model_id: str) -> str:
        return f"{self.results_dir}/models/{model_id}.json"

    def shard(self, model: str, level: str, category: str, mode: Optional[str] = None) -> str:
        """One shard; in a study of several power modes (jetson.power_modes) one per mode, in its category's folder."""
        if mode is not None:
            return f"{self.results_dir}/shards/{model}/{level}/{category}/{mode}.jsonl"
        return f"{self.results_dir}/shards/{model}/{level}/{category}.jsonl"

    def shard_repeat(self, model: str, level: str, category: str, mode: Optional[str] = None) -> str:
        """A shard measured a second time (inference.shard_repeats) beside its shard; never judged or merged into
        the runs."""
        return self.shard(model, level, category, mode)[: -len(".jsonl")] + ".repeat1.jsonl"

    # --- judging ---
    def scores(self, model: str, level: str, category: str) -> str:
        return f"{self.results_dir}/scores/{model}/{level}/{category}.csv"

    # --- merged ---
    @property
    def runs(self) -> str:
        return f"{self.results_dir}/{RUNS_FILE}"

    @property
    def timing_repeats(self) -> str:
        """Runs measured a second time (inference.timing_repeats), beside the runs: not in runs_llamacpp.jsonl,
        whose record count the study's grep checks read."""
        return timing_repeats_beside(self.runs)

    @property
    def shard_repeats(self) -> str:
        """The repeated shards' records (inference.shard_repeats), beside the runs, like the timing repeats."""
        return shard_repeats_beside(self.runs)

    @property
    def scores_merged(self) -> str:
        return f"{self.results_dir}/{SCORES_FILE}"

    @property
    def judge_agreement(self) -> str:
        return f"{self.results_dir}/judge_agreement.csv"

    # --- reports ---
    def workbook(self, name: str) -> str:
        return f"{self.results_dir}/{name}.xlsx"

    def plot(self, name: str, ext: str = "png") -> str:
        return f"{self.results_dir}/plots/{name}.{ext}"

    def plot_files(self) -> list:
        """Every figure file the report writes: each plot in each of PLOT_FORMATS."""
        return [self.plot(name, ext) for name in PLOTS for ext in PLOT_FORMATS]

    @property
    def summary(self) -> str:
        return f"{self.results_dir}/summary.md"

    @property
    def summary_by_level(self) -> str:
        return f"{self.results_dir}/{SUMMARY_BY_LEVEL_CSV}"

    @property
    def validation(self) -> str:
        return f"{self.results_dir}/validation.txt"

    @property
    def index_html(self) -> str:
        """The static results viewer: one offline HTML page (report/viewer.py)."""
        return f"{self.results_dir}/index.html"

    @property
    def exported_dir(self) -> str:
        return f"{self.results_dir}/exported_responses"

    @property
    def export_csv(self) -> str:
        return f"{self.exported_dir}/{EXPORT_CSV}"

    @property
    def export_summary(self) -> str:
        return f"{self.exported_dir}/{EXPORT_SUMMARY}"

    # --- bookkeeping ---
    def log(self, name: str) -> str:
        return f"{self.results_dir}/logs/{name}.log"

    def benchmark(self, name: str) -> str:
        return f"{self.results_dir}/benchmarks/{name}.tsv"
