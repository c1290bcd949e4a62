"""results/summary.md: the four questions answered in sentences with their numbers and CIs, and the caveats."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

from ..layout import PLOTS
from ..records import atomic_output
from .analysis import Analysis, load_analysis
from .captions import VECTOR, caption
from .dataquality import energy_note
from .findings import QUESTIONS, ci, num, question_text
from .stats import WITHIN_MODELS, row_set_note


def _md(text) -> str:
    """Text safe inside a Markdown table cell or sentence."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _counts(series) -> str:
    counts = series.fillna("unknown").value_counts()
    return ", ".join(f"{_md(name)} ({n})" for name, n in counts.items())


def _data_section(analysis: Analysis) -> List[str]:
    study = analysis.study
    runs = study.runs
    judges = sorted({str(j) for j in runs["judge_model"].dropna() if str(j)}) or ["none"]
    variants = len(study.variants)
    worded = f" × {variants} prompt variants" if variants > 1 else ""
    nested = (" + (1 | question:variant)" if variants > 1 else "")
    averaged = ("; a question's prompt variants are averaged before every paired statistic" if variants > 1
                else "")
    return [
        f"**Data.** {len(runs)} runs: {len(study.models)} model(s) ({', '.join(map(_md, study.models))}) × "
        f"{len(study.levels)} level(s) ({', '.join(map(_md, study.levels))}) × {len(study.questions)} "
        f"question(s){worded} in {len(study.categories)} categor{'y' if len(study.categories) == 1 else 'ies'}. "
        f"Baseline level: {_md(study.baseline)}. Judge: {', '.join(map(_md, judges))}. "
        f"Device: {_counts(runs['device'])}. Power source: {_counts(runs['power_source'])}.",
        "",
        f"**Energy.** {_md(energy_note(study))}",
        "",
        f"**Methods.** Intervals are {study.settings.confidence:.0%} percentile intervals from a bootstrap that "
        f"resamples questions ({study.settings.bootstrap_samples} resamples). Primary analysis: a mixed model "
        f"metric ~ level × model + (1 | question){nested} with likelihood-ratio tests; then the declared paired "
        "contrasts (each level vs the baseline, the padding level vs the level it pads, and the successive levels, "
        "which are cumulative) tested with a sign-flip "
        "permutation test of the mean difference, Holm-corrected over the whole family of each metric (all models "
        f"× contrasts; family size given beside each p), significance level {study.settings.alpha}{averaged}. "
        "A contrast that is not significant is not evidence of equal quality: it is equivalent within "
        f"±{study.settings.equivalence_margin:g} points when a TOST equivalence test (Holm over the same family) "
        "says so, else inconclusive, with its minimum detectable effect (MDE, 80 % power). "
        f"Rows: {_md(row_set_note(runs))} {DECISION_METHODS}",
    ]


def _power_lines(analysis: Analysis) -> List[str]:
    """What this design could find (slmbench plan with this study's own noise), beside its results."""
    from .plan import plan_line, study_plan

    plan = study_plan(analysis.study)
    if plan is None:
        return []
    return [f"**Power.** {_md(plan_line(plan))}: by simulation of this design with the noise it measured "
            "(`slmbench plan --from` this results directory for the questions a next study needs).", ""]


DECISION_METHODS = (
    "Below 50 questions the percentile intervals are expanded (Hesterberg 2015). Energy and latency intervals "
    "resample shards (model × level × category: categories, then questions within), studentized. A best level, "
    "Pareto member or recommended configuration is given as the set that cannot be told apart from the best "
    "(multiple comparisons with the best: max-t over all pairs of the question bootstrap), each with its share of "
    "resamples in which it is best; a single winner is named only when it is separated. Length-adjusted "
    "differences are descriptive: answer length is itself changed by the level.")


def _best_table(analysis: Analysis) -> List[str]:
    conf = analysis.study.settings.confidence
    lines = ["| model | highest ratio quality per joule at | quality per J | CI "
             "| highest ratio quality per second at | quality per s | CI | n "
             "| cannot be told apart from the best per J | per s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in analysis.best.itertuples():
        per_j = ((r.quality_per_joule_level, num(r.quality_per_joule, 4),
                  ci(r.quality_per_joule_low, r.quality_per_joule_high, conf, 4))
                 if r.quality_per_joule_level else ("n/a (no energy or no scores)", "n/a", "n/a"))
        per_s = ((r.quality_per_second_level, num(r.quality_per_second, 3),
                  ci(r.quality_per_second_low, r.quality_per_second_high, conf, 3))
                 if r.quality_per_second_level else ("n/a (no scores)", "n/a", "n/a"))
        n = "n/a" if r.quality_per_second_n != r.quality_per_second_n else int(r.quality_per_second_n)
        sets = [getattr(r, f"{m}_set", None) or "n/a" for m in ("quality_per_joule", "quality_per_second")]
        lines.append("| " + " | ".join(_md(x) for x in (r.model, *per_j, *per_s, n, *sets)) + " |")
    return lines


def _caveats(analysis: Analysis) -> List[str]:
    study = analysis.study
    runs = study.runs
    status = runs["judge_status"].value_counts()
    bias = analysis.model_tests[analysis.model_tests["model"] == WITHIN_MODELS]
    if bias.empty:
        bias = analysis.model_tests
    rho = bias["quality_length_rho"].iloc[0] if len(bias) else float("nan")
    items = [
        f"Questions: {len(study.questions)} question(s); the results describe this question set and these "
        "categories, and a small set gives wide intervals.",
        f"Judge: an LLM judge scores the canonical question and the answer; it may favour longer answers "
        f"(total score vs answer length within model: Spearman rho = {num(rho)}). "
        f"{int(status.get('parse_error', 0))} parse "
        f"error(s) and {int(status.get('missing', 0))} run(s) without a score are excluded from every quality mean.",
        f"Power source: {_counts(runs['power_source'])} (energy: see Energy above; the power backend's "
        "diagnosis is in the data_quality sheet of model_comparison.xlsx).",
        f"Device: {_counts(runs['device'])}; power mode: {_counts(runs['power_mode'])}.",
    ]
    failed = int((runs["status"] != "ok").sum())
    if failed:
        items.append(f"{failed} run(s) failed (status error) and have no measurements.")
    if study.settings.prompt_generator:
        items.append(f"Prompt levels: {_md(study.settings.prompt_generator)}.")
    if study.settings.demo_note:
        items.append(f"Judge note: {_md(study.settings.demo_note)}")
    return [f"- {item}" for item in items]


def render_summary(analysis: Analysis, plots_dir: Optional[str] = None) -> str:
    study = analysis.study
    lines = ["# slmbench summary", ""]
    if study.settings.demo_note:
        lines += [f"> **Judge note:** {_md(study.settings.demo_note)}", ""]
    lines += _data_section(analysis) + [""] + _power_lines(analysis)
    from .protocol import summary_lines  # truncation share and timing noise, on record with every answer

    protocol = summary_lines(study.runs, study.timing_repeats)
    if protocol:
        lines += ["## Measurement protocol", ""] + [_md(line) if not line.startswith("- ") else "- " + _md(line[2:])
                                                    for line in protocol] + [""]
    for key in QUESTIONS:
        lines += [f"## {key}. {question_text(key, study.baseline)}", ""]
        if key == "Q3":
            lines += _best_table(analysis) + [""]
        found = [f for f in analysis.findings if f.question == key]
        lines += [f"- {_md(f.text)}" for f in found] or ["- Nothing to report: no data for this question."]
        lines.append("")
    if plots_dir is not None:
        lines += _figures_section(analysis, plots_dir)
    lines += ["## Caveats", ""] + _caveats(analysis) + [""]
    return "\n".join(lines)


def _figures_section(analysis: Analysis, plots_dir: str) -> List[str]:
    """Each figure drawn (PNG shown, PDF linked) with its caption, numbered; in the place of one left out for
    lack of data (plots.omitted), why."""
    from .plots import omitted

    left_out = omitted(analysis)
    lines, number = ["## Figures", ""], 0
    for name in PLOTS:
        if name in left_out:
            lines += [f"- Figure `{name}` is not drawn: {_md(left_out[name])}.", ""]
            continue
        number += 1
        lines += [f"![{name}]({plots_dir}/{name}.png)", "",
                  f"*Figure {number}. {_md(caption(analysis, name))}* "
                  f"(vector: [{name}.{VECTOR}]({plots_dir}/{name}.{VECTOR}))", ""]
    return lines


def write_summary_from(analysis: Analysis, out_path, plots_dir=None) -> Path:
    out_path = Path(out_path)
    relative = None
    if plots_dir is not None and Path(plots_dir).is_dir():
        relative = Path(os.path.relpath(plots_dir, out_path.parent)).as_posix()
    with atomic_output(out_path) as fh:
        fh.write(render_summary(analysis, relative))
    return out_path


def write_summary(runs_path, scores_path, out_path, settings=None, plots_dir=None) -> Path:
    """Write summary.md; links the plots when plots_dir (default: <out dir>/plots) exists."""
    plots_dir = plots_dir if plots_dir is not None else Path(out_path).parent / "plots"
    return write_summary_from(load_analysis(runs_path, scores_path, settings), out_path, plots_dir)
