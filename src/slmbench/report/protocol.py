"""Was the measurement protocol kept? Checks and tables from the records' own evidence.

The records carry what a reviewer needs to trust a window: its place in the designed order (`run_index`),
the CPU other processes used during it (`background_cpu_pct`), the die temperature and throttling, the
board, whether the answer hit max_tokens, and timing repeats. This module turns that evidence into
validation checks (validation.txt) and small tables (the data-quality sheet, summary.md).
"""

from __future__ import annotations

from typing import List

import pandas as pd

from ..records import RECORD_KEY

BACKGROUND_CPU_WARN_PCT = 10.0  # other processes above this share of the machine during a window: not quiet


def _check(status: str, name: str, detail: str):
    from .validate import Check  # validate imports this module: the class is looked up at call time

    return Check(status, name, detail)


def order_checks(runs: pd.DataFrame) -> list:
    """The designed order really happened: sorted by run_index, the start times never go back."""
    placed = runs.dropna(subset=["run_index"]).sort_values("run_index")
    if placed.empty:
        return [_check("INFO", "designed run order followed", "no run_index on the records (older shards)")]
    started = placed["started_at"].tolist()
    behind = sum(b < a for a, b in zip(started, started[1:]))
    if behind:
        return [_check("WARN", "designed run order followed",
                       f"{behind} of {len(started) - 1} consecutive runs started before the run designed to come "
                       f"before them (shards redone or run by hand); drift is no longer balanced exactly")]
    return [_check("PASS", "designed run order followed", f"{len(placed)} runs in run_index order")]


def quiet_window_checks(runs: pd.DataFrame, limit: float = BACKGROUND_CPU_WARN_PCT) -> list:
    """Other processes' CPU share during each window (the rails measure the whole board)."""
    measured = runs.dropna(subset=["background_cpu_pct"])
    if measured.empty:
        return [_check("INFO", "quiet measurement windows", "background CPU not recorded")]
    loud = measured[measured["background_cpu_pct"] > limit]
    detail = (f"median {measured['background_cpu_pct'].median():.1f} % of the machine used by other processes, "
              f"max {measured['background_cpu_pct'].max():.1f} %")
    if len(loud):
        return [_check("WARN", "quiet measurement windows",
                       f"{len(loud)} of {len(measured)} windows above {limit:g} % ({detail}); stop other work "
                       f"on the board (jtop, a desktop, another job) and redo them (slmbench redo)")]
    return [_check("PASS", "quiet measurement windows", detail)]


def truncation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (model, level): ok runs, those that stopped at max_tokens (finish_reason length), and the share."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for (model, level), cell in ok.groupby(["model_id", "level"], sort=False):
        truncated = int((cell["finish_reason"] == "length").sum())
        rows.append({"model": model, "level": level, "ok runs": len(cell), "truncated": truncated,
                     "truncated share": truncated / len(cell) if len(cell) else None})
    return pd.DataFrame(rows, columns=["model", "level", "ok runs", "truncated", "truncated share"])


def truncation_checks(runs: pd.DataFrame) -> list:
    table = truncation_table(runs)
    if table.empty:
        return [_check("INFO", "answers cut at max_tokens", "no ok runs")]
    cut = table[table["truncated"] > 0]
    total = int(table["truncated"].sum())
    if cut.empty:
        return [_check("PASS", "answers cut at max_tokens", "none")]
    worst = cut.sort_values("truncated share", ascending=False).head(5)
    detail = ", ".join(f"{m} {lv} {t}/{n}" for m, lv, t, n in
                       zip(worst["model"], worst["level"], worst["truncated"], worst["ok runs"]))
    return [_check("WARN", "answers cut at max_tokens",
                   f"{total} of {int(table['ok runs'].sum())} ok runs (finish_reason length); most: {detail}; "
                   f"raise inference.max_tokens or read the sensitivity sheet")]


def board_checks(runs: pd.DataFrame) -> list:
    """Several boards: every level of a (model, category) must come from one board, or levels confound boards."""
    if "board" not in runs or runs["board"].dropna().nunique() <= 1:
        return []
    mixed = [f"{m} {c}" for (m, c), cell in runs.groupby(["model_id", "category"]) if cell["board"].nunique() > 1]
    if mixed:
        return [_check("WARN", "one board per (model, category)",
                       f"{len(mixed)} measured on several boards: {', '.join(mixed[:5])}; board differences then "
                       f"enter the level comparison")]
    return [_check("PASS", "one board per (model, category)",
                   f"{runs['board'].nunique()} boards, each (model, category) on one")]


LIST_NONDETERMINISTIC = 10  # runs named in validation.txt; the count covers them all


def _first_difference(a, b) -> int:
    a, b = str(a or ""), str(b or "")
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def _number(value) -> str:
    return "null" if pd.isna(value) else f"{value:g}"


def nondeterministic_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Timing repeats (repeat > 0) whose answer is not the scored run's: another text, completion or prompt token
    count. At temperature 0 a greedy decode should repeat itself exactly; one that does not (a nondeterministic
    kernel, a KV state leaking between calls) makes the scored answer one draw of several."""
    columns = ["model_id", "level", "question_id", "variant", "power_mode_id", "differences", "temperature"]
    if "repeat" not in runs or not (runs["repeat"] > 0).any():
        return pd.DataFrame(columns=columns)
    key = [k for k in RECORD_KEY if k in runs]
    ok = runs[runs["status"] == "ok"]
    fields = ["output", "completion_tokens", "prompt_tokens", "temperature"]
    pairs = ok[ok["repeat"] > 0][key + fields].merge(ok[ok["repeat"] == 0][key + fields], on=key,
                                                     suffixes=("_repeat", ""))
    rows = []
    for row in pairs.to_dict("records"):
        differences = []
        for name in ("completion_tokens", "prompt_tokens"):
            a, b = row[name], row[f"{name}_repeat"]
            if not (pd.isna(a) and pd.isna(b)) and (pd.isna(a) or pd.isna(b) or a != b):
                differences.append(f"{name} {_number(a)} vs {_number(b)}")
        if row["output"] != row["output_repeat"]:
            differences.append(f"text differs from character {_first_difference(row['output'], row['output_repeat'])}")
        if differences:
            rows.append({**{k: row[k] for k in key}, "differences": "; ".join(differences),
                         "temperature": row["temperature"]})
    return pd.DataFrame(rows, columns=[*key, "differences", "temperature"])


def determinism_checks(runs: pd.DataFrame) -> list:
    """Timing repeats against their scored runs: the same text and token counts, or the runs that differ."""
    repeats = runs[runs["repeat"] > 0] if "repeat" in runs else runs.iloc[0:0]
    pairs = int((repeats["status"] == "ok").sum())
    if not pairs:
        return [_check("INFO", "greedy answers repeat", "no timing repeats (inference.timing_repeats 0)")]
    differing = nondeterministic_runs(runs)
    if differing.empty:
        return [_check("PASS", "greedy answers repeat", f"all {pairs} timing repeats give the scored run's text and "
                                                        f"token counts")]
    sampled = pd.to_numeric(differing["temperature"], errors="coerce").fillna(0).gt(0).all()
    named = "; ".join(
        f"{r.model_id} {r.level} Q{r.question_id}" + (f" v{r.variant}" if r.variant else "")
        + (f" mode {r.power_mode_id:g}" if pd.notna(r.power_mode_id) and r.power_mode_id >= 0 else "")
        + f" ({r.differences})" for r in differing.head(LIST_NONDETERMINISTIC).itertuples())
    more = f" and {len(differing) - LIST_NONDETERMINISTIC} more" if len(differing) > LIST_NONDETERMINISTIC else ""
    why = ("sampling at temperature > 0: expected" if sampled else
           "greedy decoding did not repeat itself: the scored answer is one of several the setup gives")
    return [_check("INFO" if sampled else "WARN", "greedy answers repeat",
                   f"{len(differing)} of {pairs} timing repeats differ from their scored run ({why}): {named}{more}")]


def protocol_checks(runs: pd.DataFrame) -> list:
    return (order_checks(runs) + quiet_window_checks(runs) + truncation_checks(runs) + board_checks(runs)
            + determinism_checks(runs))


def timing_noise_table(runs: pd.DataFrame, repeats: pd.DataFrame) -> pd.DataFrame:
    """Coefficient of variation of latency and energy per model, from runs measured twice (same prompt, fresh
    context): for each pair, sd / mean of the two values; the table gives the median over pairs and n."""
    columns = ["model", "pairs", "latency CV (median)", "energy CV (median)"]
    if repeats is None or repeats.empty:
        return pd.DataFrame(columns=columns)
    key = list(RECORD_KEY)  # the repeat of a run: same model, level, question and prompt variant
    first = runs[runs["status"] == "ok"][key + ["latency_ms", "energy_j"]]
    pairs = repeats[repeats["status"] == "ok"][key + ["latency_ms", "energy_j"]].merge(first, on=key,
                                                                                     suffixes=("_b", "_a"))
    rows = []
    for model, cell in pairs.groupby("model_id", sort=False):
        row = {"model": model, "pairs": len(cell)}
        for metric, label in (("latency_ms", "latency CV (median)"), ("energy_j", "energy CV (median)")):
            a, b = cell[f"{metric}_a"], cell[f"{metric}_b"]
            values = pd.concat([a, b], axis=1).dropna()
            mean = values.mean(axis=1)
            cv = values.std(axis=1, ddof=1) / mean.abs()
            row[label] = float(cv[mean.abs() > 0].median()) if len(values) else None
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def summary_lines(runs: pd.DataFrame, repeats: pd.DataFrame) -> List[str]:
    """Two sentences for summary.md: truncation share and timing noise."""
    lines = []
    table = truncation_table(runs)
    if not table.empty:
        total, ok = int(table["truncated"].sum()), int(table["ok runs"].sum())
        lines.append(f"- {total} of {ok} answers ({total / ok:.0%}) stopped at max_tokens (finish_reason "
                     f"`length`); per (model, level) in the data-quality sheet.")
    noise = timing_noise_table(runs, repeats)
    for row in noise.itertuples(index=False):
        lat, energy = row[2], row[3]
        energy_text = f"{energy:.1%}" if energy == energy and energy is not None else "n/a"
        lat_text = f"{lat:.1%}" if lat == lat and lat is not None else "n/a"
        lines.append(f"- Timing noise, {row[0]}: latency CV {lat_text}, energy CV {energy_text} over {row[1]} "
                     f"repeated runs.")
    from .modes import identical_lines  # several power modes: answers the same in every mode

    return lines + identical_lines(runs)
