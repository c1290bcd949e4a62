"""What is missing and why: counts per (model, level) and notes that every report repeats.

A blank cell in a workbook is explained here, never filled with 0. The power backend's full diagnosis (which
sensors were tried and why each failed, a few hundred characters) is shown once, in the data-quality sheet
(and by `slmbench doctor`); every other place gives its short reason, e.g. "no power sensor".
"""

from __future__ import annotations

from collections import Counter
from typing import List, Tuple

import pandas as pd

from .data import Study

NO_SENSOR = "no power sensor"


SHORT_REASON_CHARS = 80


def short_note(note) -> str:
    """The head of an energy note: 'no power sensor: auto found no working backend (...)' -> 'no power sensor'."""
    head = str(note).split(":", 1)[0].strip()
    return head if len(head) <= SHORT_REASON_CHARS else head[: SHORT_REASON_CHARS - 3].rstrip() + "..."


def energy_reason(status, power_source, note, full: bool = False) -> str:
    """Why one run has no energy value, in words: the short reason, or with `full` the backend's diagnosis."""
    if status != "ok":
        return "run failed (status error)"
    if power_source in (None, "", "none"):
        return f"{NO_SENSOR} (power_source {power_source or 'null'})" + (f": {note}" if note and full else "")
    if not note:
        return f"not recorded by power source {power_source} (no energy_note)"
    return str(note) if full else short_note(note)


def _missing_energy(runs: pd.DataFrame, full: bool = False) -> pd.Series:
    """Reason per run whose energy_j is null."""
    missing = runs[runs["energy_j"].isna() | (runs["status"] != "ok")]
    return pd.Series([energy_reason(r.status, r.power_source, r.energy_note, full) for r in missing.itertuples()],
                     index=missing.index, dtype=object)


def _top_reasons(reasons: pd.Series, limit: int = 2) -> str:
    counts = Counter(reasons)
    return "; ".join(f"{reason} ({n})" for reason, n in counts.most_common(limit))


def _max_or_none(values: pd.Series):
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.max()) if len(values) else None


def data_quality_table(study: Study) -> pd.DataFrame:
    runs = study.runs
    reasons = _missing_energy(runs, full=True)  # the one place with the backend's whole diagnosis
    rows = []
    for (model, level), group in runs.groupby(["model_id", "level"], sort=False):
        status = group["judge_status"]
        own = reasons.reindex(group.index).dropna()
        rows.append({
            "model": model, "level": level, "runs": len(group), "ok_runs": int((group["status"] == "ok").sum()),
            "error_runs": int((group["status"] != "ok").sum()), "scored": int((status == "ok").sum()),
            "parse_errors": int((status == "parse_error").sum()), "run_errors": int((status == "run_error").sum()),
            "missing_scores": int((status == "missing").sum()),
            "total_mismatch": int(group["total_mismatch"].sum()), "usable": int(group["usable"].sum()),
            "energy_runs": int(len(group) - len(own)),
            "energy_missing": int(len(own)), "energy_missing_reason": _top_reasons(own),
            # answers that stopped at max_tokens: their quality and length are censored (sensitivity sheet)
            "truncated": int(((group["status"] == "ok") & (group["finish_reason"] == "length")).sum()),
            "background_cpu_max_pct": _max_or_none(group["background_cpu_pct"]),
            "temp_c_max": _max_or_none(group["temp_c_end"]),
            "throttled_runs": int((group["throttled"] == True).sum()),  # noqa: E712 - None/NaN are not True
        })
    table = pd.DataFrame(rows)
    rank_m = {m: i for i, m in enumerate(study.models)}
    rank_l = {lvl: i for i, lvl in enumerate(study.levels)}
    table = table.sort_values(["model", "level"], key=lambda s: s.map(rank_m if s.name == "model" else rank_l))
    return table.reset_index(drop=True)


def energy_note(study: Study, full: bool = False) -> str:
    """One sentence on energy coverage, e.g. 'Energy was not measured ...: no power sensor (...)'; `full` adds
    the power backend's diagnosis (the data-quality sheet only)."""
    runs = study.runs
    reasons = _missing_energy(runs, full)
    if len(reasons) == 0:
        return f"Energy was measured for all {len(runs)} runs (net of idle power)."
    if len(reasons) == len(runs):
        return (f"Energy was not measured for any of the {len(runs)} runs: {_top_reasons(reasons, 3)}. "
                "Energy columns are empty, never 0.")
    return (f"Energy is missing for {len(reasons)} of {len(runs)} runs: {_top_reasons(reasons, 3)}. "
            "Those cells are empty, never 0.")


def data_quality_notes(study: Study) -> List[Tuple[str, str]]:
    """(topic, sentence) pairs describing the data behind every number."""
    runs = study.runs
    notes: List[Tuple[str, str]] = []
    if study.settings.demo_note:
        notes.append(("judge note", study.settings.demo_note))
    expected = len(study.models) * len(study.levels) * len(study.questions)
    notes.append(("runs", f"{len(runs)} runs: {len(study.models)} model(s) x {len(study.levels)} level(s) x "
                          f"{len(study.questions)} question(s) in {len(study.categories)} categor"
                          f"{'y' if len(study.categories) == 1 else 'ies'}"
                          + (f"; {expected - len(runs)} (model, level, question) combinations are absent"
                             if expected > len(runs) else "")))
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        first = failed.iloc[0]
        notes.append(("errors", f"{len(failed)} run(s) failed (status error), e.g. {first['model_id']} "
                                f"{first['level']} Q{first['question_id']}: {first['error'] or 'no message'}"))
    status = runs["judge_status"].value_counts()
    judges = ", ".join(sorted({str(j) for j in runs["judge_model"].dropna() if str(j)})) or "none"
    notes.append(("judge", f"{int(status.get('ok', 0))} runs scored, {int(status.get('parse_error', 0))} parse "
                           f"errors, {int(status.get('run_error', 0))} failed runs not judged, "
                           f"{int(status.get('missing', 0))} runs without a score row; judge model(s): {judges}"))
    mismatch = int(runs["total_mismatch"].sum())
    if mismatch:
        notes.append(("totals", f"{mismatch} verdict(s) whose total_score is not the sum of the four dimensions are "
                                "left out of every mean and test (validation.txt fails them)"))
    if study.orphan_scores:
        notes.append(("scores", f"{study.orphan_scores} score row(s) match no run and are ignored"))
    notes.append(("energy", energy_note(study, full=True)))
    for topic, column in (("power source", "power_source"), ("device", "device"), ("power mode", "power_mode")):
        counts = runs[column].fillna("unknown").value_counts()
        notes.append((topic, "; ".join(f"{name} ({n} runs)" for name, n in counts.items())))
    from .protocol import summary_lines  # truncation share and timing noise (coefficients of variation)

    for line in summary_lines(runs, study.timing_repeats):
        notes.append(("protocol", line.lstrip("- ")))
    from .shard_noise import shard_noise, shard_noise_lines  # inference.shard_repeats: a shard measured twice

    for line in shard_noise_lines(shard_noise(runs, study.shard_repeats, study.timing_repeats)):
        notes.append(("shard noise", line))
    if "board" in runs and runs["board"].dropna().nunique() > 1:
        notes.append(("boards", "; ".join(f"{b} ({n} runs)" for b, n in runs["board"].value_counts().items())))
    return notes
