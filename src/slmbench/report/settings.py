"""Report settings: what the reports need from the config, as one small frozen object.

`settings_from_config` turns the workflow config into the plain dict the rules pass as `params` (so a
changed setting reruns the reports); the package turns that dict into `ReportSettings`. No heavy imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping, Optional, Sequence

from ..errors import UserError


@dataclass(frozen=True)
class ReportSettings:
    levels: Optional[tuple] = None  # preferred order; the first level present is the baseline (L0)
    models: Optional[tuple] = None
    categories: Optional[tuple] = None
    demo_note: Optional[str] = None  # config judge.demo_note, printed in every report when set
    prompt_generator: Optional[str] = None  # who wrote the prompt levels (prompt_generator_note), when known
    bootstrap_samples: int = 2000  # question-clustered bootstrap resamples per confidence interval
    confidence: float = 0.95
    alpha: float = 0.05  # significance level applied to Holm-corrected p-values
    seed: int = 20240611
    quality_margin: float = 0.5  # Q4: the cheapest Pareto configuration within this many points of the best
    equivalence_margin: float = 0.5  # a contrast is "equivalent" when TOST puts it within +-this many points
    target_effect: float = 0.5  # slmbench plan: the true effect (points) whose power is printed
    power_simulations: int = 2000  # slmbench plan: simulated studies behind each power
    memory_bandwidth_gb_s: Mapping[str, float] = field(default_factory=dict)  # board name fragment -> GB/s
    model_facts: tuple = ()  # paths of <results_dir>/models/<model>.json (file size for the roofline)

    @classmethod
    def from_mapping(cls, settings: Optional[Mapping] = None) -> "ReportSettings":
        settings = dict(settings or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise UserError(f"report settings: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key in ("levels", "models", "categories", "model_facts"):
            if settings.get(key) is not None:
                settings[key] = tuple(settings[key])
        if "memory_bandwidth_gb_s" in settings:
            settings["memory_bandwidth_gb_s"] = dict(settings["memory_bandwidth_gb_s"] or {})
        result = cls(**settings)
        if result.bootstrap_samples < 100:
            raise UserError(
                f"report.bootstrap_samples is {result.bootstrap_samples}; use at least 100 (1000+ for a paper)")
        if not 0.5 < result.confidence < 1:
            raise UserError(f"report.confidence is {result.confidence}; use a value between 0.5 and 1, e.g. 0.95")
        if not 0 < result.alpha < 0.5:
            raise UserError(f"report.alpha is {result.alpha}; use a value between 0 and 0.5, e.g. 0.05")
        if not 0 <= result.quality_margin <= 10:
            raise UserError(f"report.quality_margin is {result.quality_margin}; use quality points between 0 and 10, "
                            "e.g. 0.5")
        if not 0 < result.equivalence_margin <= 10:
            raise UserError(f"report.equivalence_margin is {result.equivalence_margin}; use quality points above 0 "
                            "and at most 10, e.g. 0.5")
        if not 0 < result.target_effect <= 10:
            raise UserError(f"report.target_effect is {result.target_effect}; use quality points above 0 and at "
                            "most 10, e.g. 0.5")
        if result.power_simulations < 50:
            raise UserError(f"report.power_simulations is {result.power_simulations}; use at least 50 (2000 "
                            "gives power to about +-1 point)")
        return result

    def model_bytes(self) -> dict:
        """Model file name -> size in bytes, from the model facts files written by `slmbench models verify`."""
        sizes = {}
        for path in self.model_facts:
            try:
                facts = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UserError(f"{path}: cannot read model facts ({exc}); rerun the verify_model rule") from None
            if facts.get("file") and facts.get("size_bytes"):
                sizes[facts["file"]] = int(facts["size_bytes"])
        return sizes


def prompt_generator_note(config: Mapping) -> str:
    """Who wrote the study's prompt levels, in one sentence for the reports: the template texts are the
    offline fallback, and a reader must not take them for levels written for each question."""
    prompts = config["prompts"]
    if prompts["source"] == "spreadsheet":
        return (f"spreadsheet: the user's levels ({prompts['spreadsheet']}; prompt_audit.csv names the generator "
                f"if slmbench wrote it)")
    if prompts["generate_mode"] == "template":
        return ("template: the offline fallback; the levels are fixed sentences filled from each question, not "
                "written for each question by a model")
    writer = prompts["generator"] or config["judge"]
    whose = "" if prompts["generator"] else " (the judge's model: prompts.generator is null)"
    return f"llm: {writer['model']} wrote each level's addition for its question{whose}"


def settings_from_config(config: Mapping, model_facts: Sequence[str] = ()) -> dict:
    """The report settings of a workflow config (a plain dict, usable as Snakemake params)."""
    report = config["report"]
    return {
        "levels": list(config["levels"]),
        "models": [m["id"] for m in config["models"]],
        "categories": list(config["categories"]),
        "demo_note": config["judge"]["demo_note"],
        "prompt_generator": prompt_generator_note(config),
        "bootstrap_samples": report["bootstrap_samples"],
        "confidence": report["confidence"],
        "alpha": report["alpha"],
        "seed": report["seed"],
        "quality_margin": report["quality_margin"],
        "equivalence_margin": report["equivalence_margin"],
        "target_effect": report["target_effect"],
        "power_simulations": report["power_simulations"],
        "memory_bandwidth_gb_s": dict(report["memory_bandwidth_gb_s"]),
        "model_facts": [str(p) for p in model_facts],
    }
