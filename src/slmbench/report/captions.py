"""Figure captions: titles and notes live here and go to summary.md (and the Snakemake report), never into
the figure itself, so nothing is clipped and a paper can set its own."""

from __future__ import annotations

VECTOR = "pdf"  # every figure is written as <name>.pdf (vector) and <name>.png (300 dpi)
PNG_DPI = 300


def caption(analysis, name: str) -> str:
    study = analysis.study
    conf = f"{study.settings.confidence:.0%}"
    energy = analysis.summary["energy_j"].notna().any()
    note = f" Judge note: {study.settings.demo_note}" if study.settings.demo_note else ""
    texts = {
        "quality_vs_prompt_tokens": (
            f"Mean quality (0-10) against mean prompt tokens, per model; the line joins the levels up to the last "
            f"before padding, the padding level is its own open marker. Error bars: {conf} question-clustered "
            "bootstrap CIs."),
        "energy_quality_pareto": (
            "Mean quality against mean cost per answer, per model: energy (left) and latency (right); each model's "
            "Pareto front is the dashed line, and the percentage beside a level on it is its share of bootstrap "
            "resamples on that front (all shares: the pareto sheet of model_comparison.xlsx)."
            + ("" if energy else " Energy was not measured, so the energy panel is empty.")),
        "dimensions_radar": (
            "The four judge dimensions (0-2.5) per model and level, on an axis scaled to the values seen; each level "
            "has its own line style and marker."),
        "latency_energy_by_level": f"Mean latency and energy per answer by level and model, with {conf} CIs.",
        "quality_gain_vs_extra_energy": (
            f"Quality gain over {study.baseline} against the extra "
            + ("energy" if energy else "latency (energy not measured)")
            + f" per answer, per model and level; error bars: {conf} CIs of the paired differences."),
        "power_modes_by_model": (
            f"Output tokens per joule (completion tokens / net energy of the answer) and mean latency per model, "
            f"one bar per power mode (jetson.power_modes), over all levels, with {conf} question-clustered bootstrap "
            "CIs; per (model, level, mode): the comparison_by_mode sheet of model_comparison.xlsx."),
        "quality_by_level": (
            f"Mean quality per level with {conf} question-clustered bootstrap CIs, one panel per model; n = runs "
            "with a usable score."),
    }
    return texts.get(name, name) + note
