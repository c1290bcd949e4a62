"""Figure captions: titles and notes live here and go to summary.md (and the Snakemake report), never into
the figure itself, so nothing is clipped and a paper can set its own."""

from __future__ import annotations

VECTOR = "pdf"  # every figure is written as <name>.pdf (vector) and <name>.png (300 dpi)
PNG_DPI = 300
ENCODING = "Colour: model; marker: level (the padding level open)."


def caption(analysis, name: str) -> str:
    study = analysis.study
    conf = f"{study.settings.confidence:.0%}"
    energy = analysis.summary["energy_j"].notna().any()
    no_energy = "" if energy else " Energy was not measured (no power sensor), so only latency is shown."
    note = f" Judge note: {study.settings.demo_note}" if study.settings.demo_note else ""
    texts = {
        "quality_vs_prompt_tokens": (
            f"Mean quality (0-10) against mean prompt tokens, per model and level; the line joins the levels up to "
            f"the last before padding. {ENCODING} Error bars: {conf} question-clustered bootstrap CIs."),
        "energy_quality_pareto": (
            "Mean quality against mean cost per answer, per model and level: "
            + ("energy (left) and latency (right)" if energy else "latency")
            + f"; each model's Pareto front is the dashed line (each level's share of bootstrap resamples on the "
            f"front: the pareto sheet of model_comparison.xlsx). {ENCODING}" + no_energy),
        "dimensions_radar": (
            "The four judge dimensions (0-2.5) per model and level, on an axis scaled to the values seen; each level "
            "has its own line style and marker."),
        "latency_energy_by_level": (
            f"Mean {'latency and energy' if energy else 'latency'} per answer by level, one bar per model, with "
            f"{conf} CIs.{no_energy}"),
        "quality_gain_vs_extra_energy": (
            f"Quality gain over {study.baseline} against the extra {'energy' if energy else 'latency'} per answer, "
            f"per model and level; error bars: {conf} CIs of the paired differences. {ENCODING}" + no_energy),
        "power_modes_by_model": (
            f"Output tokens per joule (completion tokens / net energy of the answer) and mean latency per model, "
            f"one bar per power mode (jetson.power_modes), over all levels, with {conf} question-clustered bootstrap "
            "CIs; per (model, level, mode): the comparison_by_mode sheet of model_comparison.xlsx."),
        "quality_by_level": (
            f"Mean quality per level with {conf} question-clustered bootstrap CIs, one panel per model; n = runs "
            "with a usable score."),
    }
    return texts.get(name, name) + note
