"""The study's integrity checks on the merged runs and scores, written to validation.txt.

FAIL: the data does not match the design (counts, missing or duplicate runs, scores out of range, totals
that are not the sum of their dimensions, prompt tokens not growing with the level) or cannot answer it (a
(model, level) where most runs failed or have no usable score). WARN: counted problems that the reports
handle (failed runs, judge parse errors, missing energy, a mean score outside the seed's plausible 5-9).
With strict=True a FAIL stops the run (exit status 2) after the file is written.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import pandas as pd

from .. import levels as design
from ..errors import UserError
from ..layout import timing_repeats_beside
from ..prompt_rows import read_prompt_rows
from ..records import NO_POWER_MODE, atomic_output
from .carryover import carryover_lines
from .data import DIMENSIONS, KEY, TOTAL_TOLERANCE, duplicate_keys, join_runs_scores, read_runs, read_scores
from .dataquality import energy_reason
from .protocol import protocol_checks

SHOW = 5  # examples listed per failed check
TOLERANCE = TOTAL_TOLERANCE
MIN_USABLE_SHARE = 0.5  # below this share of usable runs in a (model, level), the comparison is not answered
PLAUSIBLE_MEAN = (5.0, 9.0)  # the seed's plausibility check of the mean total score


@dataclass
class Check:
    status: str  # PASS | FAIL | WARN | INFO
    name: str
    detail: str


def question_ids_from_prompt_csvs(paths: Iterable) -> List[int]:
    """The question ids of the prompt CSVs, sorted and unique."""
    return sorted({row.question_id for path in paths for row in read_prompt_rows(path)})


def prompts_from_prompt_csvs(paths: Iterable) -> List[Tuple[int, int]]:
    """The (question id, variant) pairs of the prompt CSVs, sorted and unique: what each (model, level) runs."""
    return sorted({(row.question_id, row.variant) for path in paths for row in read_prompt_rows(path)})


def _examples(items: Sequence) -> str:
    shown = ", ".join(map(str, items[:SHOW]))
    return shown + (f" and {len(items) - SHOW} more" if len(items) > SHOW else "")


def _expected(expected: Optional[dict], runs: pd.DataFrame) -> dict:
    """The design: models, levels, categories, and the (question, variant) prompts each (model, level) runs,
    from the prompt CSVs where given (a one-variant study: every question at variant 0), else from the runs."""
    expected = dict(expected or {})
    if expected.get("prompt_csvs") and not expected.get("question_ids"):
        prompts = prompts_from_prompt_csvs(expected["prompt_csvs"])
    elif expected.get("question_ids"):
        variants = expected.get("variants") or sorted(runs["variant"].unique().tolist())
        prompts = [(q, v) for q in expected["question_ids"] for v in variants]
    else:
        prompts = sorted(set(zip(runs["question_id"], runs["variant"])))
    prompts = [(int(q), int(v)) for q, v in prompts]
    return {
        "models": list(expected.get("models") or dict.fromkeys(runs["model_id"])),
        "levels": list(expected.get("levels") or dict.fromkeys(runs["level"])),
        "categories": list(expected.get("categories") or dict.fromkeys(runs["category"])),
        "question_ids": sorted({q for q, _ in prompts}),
        "variants": sorted({v for _, v in prompts}),
        "prompts": prompts,
        # a study of several power modes runs every prompt in each (jetson.power_modes: their labels); the runs
        # know a mode by its nvpmodel id
        "power_modes": max(len(expected.get("power_modes") or ()), 1),
        "mode_ids": sorted(int(m) for m in runs["power_mode_id"].unique()),
        "questions_from": "prompt CSVs" if expected.get("prompt_csvs") or expected.get("question_ids")
        else "the runs themselves",
    }


def _per_question(exp: dict) -> str:
    """'N questions' or, with prompt variants, 'N questions x k variants' (the prompts each cell runs)."""
    n_q, n_v = len(exp["question_ids"]), len(exp["variants"])
    if n_v <= 1:
        return f"{n_q} questions"
    if len(exp["prompts"]) == n_q * n_v:
        return f"{n_q} questions x {n_v} variants"
    return f"{len(exp['prompts'])} (question, variant) prompts"


def count_checks(runs: pd.DataFrame, exp: dict) -> List[Check]:
    n_p, n_l, n_m, n_k = len(exp["prompts"]), len(exp["levels"]), len(exp["models"]), exp["power_modes"]
    modes = f" x {n_k} power modes" if n_k > 1 else ""
    checks = []
    per_model = runs["model_id"].value_counts()
    for model in exp["models"]:
        got, want = int(per_model.get(model, 0)), n_p * n_l * n_k
        checks.append(Check("PASS" if got == want else "FAIL", f"runs of model {model}",
                            f"{got} (expected {_per_question(exp)} x {n_l} levels{modes} = {want})"))
    per_level = runs["level"].value_counts()
    for level in exp["levels"]:
        got, want = int(per_level.get(level, 0)), n_p * n_m * n_k
        checks.append(Check("PASS" if got == want else "FAIL", f"runs at level {level}",
                            f"{got} (expected {_per_question(exp)} x {n_m} models{modes} = {want})"))
    if n_k > 1:
        seen = [m for m in exp["mode_ids"] if m != NO_POWER_MODE]
        checks.append(Check("PASS" if len(seen) == n_k and len(exp["mode_ids"]) == n_k else "FAIL", "power modes",
                            f"nvpmodel ids {', '.join(map(str, exp['mode_ids']))} in the runs ({n_k} configured)"))
    return checks


def _run_name(key: tuple) -> tuple:
    """A run's key as shown: (model, level, question), with the variant and the power mode only where set."""
    shown = key[:4] if key[3] else key[:3]
    return shown + (f"mode {key[4]}",) if len(key) > 4 and key[4] != NO_POWER_MODE else shown


def combination_checks(runs: pd.DataFrame, exp: dict) -> List[Check]:
    present = set(zip(runs["model_id"], runs["level"], runs["question_id"], runs["variant"], runs["power_mode_id"]))
    wanted = {(m, lvl, q, v, mode) for m in exp["models"] for lvl in exp["levels"] for q, v in exp["prompts"]
              for mode in exp["mode_ids"]}
    missing = [_run_name(k) for k in sorted(wanted - present, key=str)]
    extra = [_run_name(k) for k in sorted(present - wanted, key=str)]
    dups = duplicate_keys(runs, "line")
    run = "(model, level, question, variant)" if len(exp["variants"]) > 1 else "(model, level, question)"
    checks = [
        Check("FAIL" if missing else "PASS", f"every expected {run} present",
              f"{len(missing)} missing: {_examples(missing)}" if missing else f"all {len(wanted)} present"),
        Check("FAIL" if dups else "PASS", f"no duplicate {run}",
              f"{len(dups)} duplicated: {_examples(dups)}" if dups else "none duplicated"),
        Check("FAIL" if extra else "PASS", f"no unexpected {run}",
              f"{len(extra)} not in the design: {_examples(extra)}" if extra else "none"),
    ]
    stray = sorted(set(runs["category"]) - set(exp["categories"]))
    checks.append(Check("FAIL" if stray else "PASS", "categories", f"unexpected: {', '.join(stray)}" if stray
                        else f"{runs['category'].nunique()} of {len(exp['categories'])} expected categories seen"))
    mixed = runs.groupby("question_id")["category"].nunique()
    mixed = mixed[mixed > 1].index.tolist()
    checks.append(Check("FAIL" if mixed else "PASS", "one category per question",
                        f"questions with several categories: {_examples(mixed)}" if mixed else "consistent"))
    return checks


def run_checks(runs: pd.DataFrame) -> List[Check]:
    failed = runs[runs["status"] != "ok"]
    checks = [Check("WARN" if len(failed) else "PASS", "failed runs (status error)",
                    f"{len(failed)}: " + _examples([f"{r.model_id} {r.level} Q{r.question_id}: {r.error}"
                                                    for r in failed.itertuples()]) if len(failed) else "none")]
    ok = runs[runs["status"] == "ok"]
    empty = ok[ok["completion_tokens"].isna() | (ok["completion_tokens"] <= 0)]
    checks.append(Check("WARN" if len(empty) else "PASS", "ok runs with completion tokens",
                        f"{len(empty)} ok runs with no completion tokens: "
                        + _examples([f"{r.model_id} {r.level} Q{r.question_id}" for r in empty.itertuples()])
                        if len(empty) else f"all {len(ok)}"))
    slow = ok[ok["latency_ms"].isna() | (ok["latency_ms"] <= 0)]
    checks.append(Check("WARN" if len(slow) else "PASS", "ok runs with a positive latency",
                        f"{len(slow)} without" if len(slow) else f"all {len(ok)}"))
    return checks


def token_growth_checks(runs: pd.DataFrame, exp: dict) -> List[Check]:
    """Mean prompt tokens follow the study's level rule (slmbench.levels, the same rule as the token report
    and the prompt audit): L0 < L1 < L2 < L3 < P for the levels the study runs, each length-matched control
    (P1, P2, P3) longer than L0. Each step's mean growth is shown beside its band: the bands are tiktoken
    counts, and each model's own tokenizer counts differently, so here they inform and the order decides."""
    present = [lvl for lvl in exp["levels"] if lvl in set(runs["level"])]
    ruled = design.chain(present) + [lvl for lvl in present if lvl in design.CONTROL_LEVELS]
    if len(ruled) < 2:
        return [Check("INFO", "prompt tokens grow with level", "fewer than two levels of the rule "
                                                               f"({design.rule_text()}): nothing to compare")]
    checks = []
    groups = [("all models", runs)] + [(m, runs[runs["model_id"] == m]) for m in exp["models"]]
    for name, frame in groups:
        means = frame.groupby("level")["prompt_tokens"].mean()
        lengths = {lvl: float(means[lvl]) for lvl in ruled if lvl in means.index and pd.notna(means[lvl])}
        chain = design.chain(ruled)
        text = " < ".join(f"{lvl} {lengths[lvl]:.1f}" if lvl in lengths else f"{lvl} n/a" for lvl in chain)
        controls = [f"{lvl} {lengths[lvl]:.1f}" for lvl in ruled if lvl in design.CONTROL_LEVELS and lvl in lengths]
        steps = [f"{lvl} {lengths[lvl] - lengths[design.base_of(lvl)]:+.1f} (band {design.band_of(lvl)})"
                 for lvl in chain if design.band_of(lvl) and design.base_of(lvl) in lengths and lvl in lengths]
        problems = design.order_problems(lengths)
        detail = text + (f"; controls {', '.join(controls)}" if controls else "") \
            + (f"; per step {', '.join(steps)}" if steps else "") \
            + (f"; {problems[0][1]}" if problems else "")
        grows = len(lengths) == len(ruled) and not problems
        checks.append(Check("PASS" if grows else "FAIL", f"mean prompt tokens grow with level ({name})", detail))
    return checks


def score_checks(runs: pd.DataFrame, scores: pd.DataFrame) -> List[Check]:
    checks = []
    keys = set(zip(*[scores[name] for name in KEY]))
    run_keys = list(zip(*[runs[name] for name in KEY]))
    unscored = [_run_name(k) for k in run_keys if k not in keys]
    checks.append(Check("FAIL" if unscored else "PASS", "every run has a score row",
                        f"{len(unscored)} without: {_examples(unscored)}" if unscored else f"all {len(run_keys)}"))
    dups = duplicate_keys(scores, "row")
    checks.append(Check("FAIL" if dups else "PASS", "no duplicate score rows",
                        f"{len(dups)}: {_examples(dups)}" if dups else "none"))
    orphans = [_run_name(k) for k in sorted(keys - set(run_keys), key=str)]
    checks.append(Check("WARN" if orphans else "PASS", "score rows match a run",
                        f"{len(orphans)} match no run: {_examples(orphans)}" if orphans else "all match"))
    ok = scores[scores["judge_status"] == "ok"]
    blank = ok[ok[DIMENSIONS + ["total_score"]].isna().any(axis=1)]
    out_of_range = ok[((ok[DIMENSIONS] < 0) | (ok[DIMENSIONS] > 2.5)).any(axis=1)
                      | (ok["total_score"] < 0) | (ok["total_score"] > 10)]
    wrong_sum = ok[(ok[DIMENSIONS].sum(axis=1) - ok["total_score"]).abs() > TOLERANCE]
    for bad, name, what in ((blank, "scored rows have every number", "ok rows with an empty score"),
                            (out_of_range, "score range 0-10 (dimensions 0-2.5)", "rows out of range"),
                            (wrong_sum, "total_score = sum of the four dimensions",
                             "rows where it is not (never averaged)")):
        checks.append(Check("FAIL" if len(bad) else "PASS", name,
                            f"{len(bad)} {what}, rows {_examples(bad['row'].tolist())}" if len(bad)
                            else f"all {len(ok)} scored rows"))
    if len(ok):
        total = ok["total_score"]
        checks.append(Check("INFO", "score range seen",
                            f"total {total.min():g} to {total.max():g}, mean {total.mean():.2f}"))
    parse = scores[scores["judge_status"] == "parse_error"]
    checks.append(Check("WARN" if len(parse) else "PASS", "judge parse failures",
                        f"{len(parse)} (counted, never averaged): rows {_examples(parse['row'].tolist())}"
                        if len(parse) else "none"))
    failed_runs = set(zip(*[runs.loc[runs["status"] != "ok", k] for k in KEY]))
    run_error = scores[scores["judge_status"] == "run_error"]
    stray = [_run_name(k) for k in zip(*[run_error[name] for name in KEY]) if k not in failed_runs]
    checks.append(Check("WARN" if stray else "PASS", "run_error scores belong to failed runs",
                        f"{len(stray)} do not: {_examples(stray)}" if stray else f"{len(run_error)} run_error rows"))
    return checks


def usable_run_checks(runs: pd.DataFrame, scores: pd.DataFrame, exp: dict) -> List[Check]:
    """Per (model, level) of the design: runs that ran and have a usable score (judge ok, total = sum of the
    dimensions), against the expected number of questions. FAIL when most runs failed or most expected runs
    are not usable (all failed included); WARN when some are not."""
    joined = join_runs_scores(runs.drop_duplicates(KEY), scores.drop_duplicates(KEY))
    expected = len(exp["prompts"])
    failing, short = [], []
    for model in exp["models"]:
        for level in exp["levels"]:
            cell = joined[(joined["model_id"] == model) & (joined["level"] == level)]
            failed = int((cell["status"] != "ok").sum())
            usable = int(cell["usable"].sum())
            text = f"{model} {level}: {usable} usable of {expected} expected ({failed} failed)"
            if (len(cell) and failed > len(cell) / 2) or usable < MIN_USABLE_SHARE * expected or (
                    expected and usable == 0):
                failing.append(text)
            elif usable < expected:
                short.append(text)
    if failing:
        return [Check("FAIL", "usable runs per (model, level)",
                      f"{len(failing)} (model, level) where most runs failed or have no usable score: "
                      f"{_examples(failing)}")]
    if short:
        return [Check("WARN", "usable runs per (model, level)",
                      f"{len(short)} (model, level) with fewer usable runs than expected: {_examples(short)}")]
    return [Check("PASS", "usable runs per (model, level)", f"all {expected} expected runs usable in every cell")]


def plausibility_checks(runs: pd.DataFrame, scores: pd.DataFrame) -> List[Check]:
    """The seed's check: a mean total score outside 5-9 suggests a judge or parsing problem (WARN only)."""
    joined = join_runs_scores(runs.drop_duplicates(KEY), scores.drop_duplicates(KEY))
    used = joined[joined["usable"]]
    if used.empty:
        return [Check("INFO", "mean score plausible (5-9)", "no usable scores")]
    low, high = PLAUSIBLE_MEAN
    means = used.groupby("model_id", sort=False)["quality"].mean()
    outside = [f"{model} {mean:.2f}" for model, mean in means.items() if not low <= mean <= high]
    overall = used["quality"].mean()
    if outside or not low <= overall <= high:
        return [Check("WARN", "mean score plausible (5-9)",
                      f"overall {overall:.2f}; outside {low:g}-{high:g}: {_examples(outside) or 'overall'}")]
    return [Check("PASS", "mean score plausible (5-9)",
                  f"overall {overall:.2f}; per model " + ", ".join(f"{m} {v:.2f}" for m, v in means.items()))]


def energy_checks(runs: pd.DataFrame) -> List[Check]:
    ok = runs[runs["status"] == "ok"]
    missing = ok[ok["energy_j"].isna()]
    reasons = pd.Series([energy_reason(r.status, r.power_source, r.energy_note) for r in missing.itertuples()],
                        dtype=object).value_counts()
    detail = "; ".join(f"{reason} ({n})" for reason, n in reasons.head(3).items())
    if missing.empty:
        checks = [Check("PASS", "energy measured", f"all {len(ok)} ok runs")]
    elif len(missing) == len(ok):
        checks = [Check("INFO", "energy measured", f"none of {len(ok)} ok runs: {detail}")]
    else:
        checks = [Check("WARN", "energy measured", f"{len(missing)} of {len(ok)} ok runs without energy: {detail}")]
    negative = ok[ok["energy_j"] < 0]
    if len(negative):
        checks.append(Check("WARN", "net energy not negative",
                            f"{len(negative)} runs below idle power (idle baseline drift?)"))
    return checks


def grep_counts(runs: pd.DataFrame) -> List[str]:
    """The study's own check: grep -o '"model_id":"[^"]*"' runs | sort | uniq -c (and for level)."""
    lines = []
    for field in ("model_id", "level"):
        counts = runs[field].value_counts().sort_index()
        lines += [f"  {n:6d} \"{field}\":\"{value}\"" for value, n in counts.items()]
    return lines


def render(checks: List[Check], runs_path, scores_path, exp: dict, runs: pd.DataFrame) -> str:
    failures = sum(c.status == "FAIL" for c in checks)
    warnings = sum(c.status == "WARN" for c in checks)
    lines = [
        "slmbench validation", f"runs:   {runs_path}", f"scores: {scores_path}",
        f"design: {len(exp['models'])} models x {len(exp['levels'])} levels ({', '.join(exp['levels'])}) x "
        f"{_per_question(exp)} (from {exp['questions_from']}) in {len(exp['categories'])} categories",
        "", "counts (grep -o '\"model_id\":\"[^\"]*\"' | sort | uniq -c, and for level):", *grep_counts(runs), "",
    ]
    lines += [f"{c.status:<5} {c.name}: {c.detail}" for c in checks]
    lines += ["", f"RESULT: {'FAIL' if failures else 'PASS'} ({failures} failed, {warnings} warnings, "
                  f"{len(checks)} checks)", ""]
    return "\n".join(lines)


def validate_results(runs_path, scores_path, expected: Optional[dict], out_txt, strict: bool = False) -> List[Check]:
    """Run every check, write out_txt, and with strict=True raise UserError when any check failed.

    expected = {"models": [...], "levels": [...], "categories": [...], "question_ids": [...] or None}
    (any key may be None: taken from the runs); "prompt_csvs": [...] may replace question_ids (the CSVs' (question,
    variant) pairs are then the design); "variants": [...] goes with question_ids (default: the runs' variants).
    """
    all_runs = read_runs(runs_path)
    runs = all_runs[all_runs["repeat"] == 0]  # timing repeats are measured twice, counted once
    repeats_path = Path(timing_repeats_beside(runs_path))  # merge_runs puts them beside the runs
    if repeats_path.is_file() and repeats_path.stat().st_size:
        all_runs = pd.concat([all_runs, read_runs(repeats_path)], ignore_index=True)
    scores = read_scores(scores_path)
    exp = _expected(expected, runs)
    checks = (count_checks(runs, exp) + combination_checks(runs, exp) + run_checks(runs)
              + token_growth_checks(runs, exp) + score_checks(runs, scores) + usable_run_checks(runs, scores, exp)
              + plausibility_checks(runs, scores) + energy_checks(runs) + protocol_checks(all_runs)
              + [Check(*line) for line in carryover_lines(runs, exp["levels"])])
    text = render(checks, runs_path, scores_path, exp, runs)
    with atomic_output(out_txt) as fh:
        fh.write(text)
    failed = [c for c in checks if c.status == "FAIL"]
    if strict and failed:
        print(text, file=sys.stderr)
        first = " ".join(f"{failed[0].name}: {failed[0].detail}".split())
        raise UserError(f"validation failed ({len(failed)} checks), first: {first}; see {Path(out_txt)}")
    return checks
