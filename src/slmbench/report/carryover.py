"""First-order carryover: does the shard run just before a shard change its latency, energy or temperature?

A shard leaves the board warm, its clocks raised, the page cache full of its model. The run order is a Williams
design (slmbench.run_order), so each level follows every other level equally often within a model and such a
carryover cannot be confounded with the level; this module shows that balance on the records (pair counts) and
tests the carryover itself: on shard means (one row per shard), a mixed model with the shard's model and level
and the level of the shard run just before it on the board (any model) as fixed effects, the category as a random
intercept (a category's shards share their questions), fit by maximum likelihood with and without the previous
level; the likelihood-ratio test says whether the previous level matters.
"""

from __future__ import annotations

import warnings
from typing import List, Optional

import numpy as np
import pandas as pd

OUTCOMES = (("latency_ms", "ms"), ("energy_j", "J"), ("temp_c_start", "°C"))
SHARD = ["model_id", "level", "category", "power_mode_id"]


def shard_means(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per shard in execution order: its means of the outcomes, its level and the previous shard's level
    on the board (`prev_level`, any model) and in its own model (`prev_own_level`)."""
    ok = runs[(runs["status"] == "ok") & runs["shard_position"].notna()].copy()
    if ok.empty:
        return pd.DataFrame(columns=[*SHARD, "shard_position", "prev_level", "prev_own_level"])
    ok["power_mode_id"] = ok["power_mode_id"].fillna(-1) if "power_mode_id" in ok else -1
    columns = [name for name, _ in OUTCOMES if name in ok]
    shards = ok.groupby([*SHARD, "shard_position"], as_index=False)[columns].mean()
    shards = shards.sort_values("shard_position").reset_index(drop=True)
    shards["prev_level"] = shards["level"].shift(1)
    shards["prev_own_level"] = shards.groupby("model_id")["level"].shift(1)
    return shards


def pair_counts(shards: pd.DataFrame, levels: List[str]) -> dict:
    """Model -> {(previous level, level): count} along the model's shards, distinct levels only."""
    out = {}
    for model, group in shards.dropna(subset=["prev_own_level"]).groupby("model_id", sort=False):
        counts = {(a, b): 0 for a in levels for b in levels if a != b}
        for a, b in zip(group["prev_own_level"], group["level"]):
            if a != b and (a, b) in counts:
                counts[(a, b)] += 1
        out[model] = counts
    return out


def carryover_test(shards: pd.DataFrame, outcome: str) -> Optional[dict]:
    """Likelihood-ratio test of the previous shard's level on one outcome's shard means; None when there is too
    little to fit (fewer shards than parameters, a constant outcome, no outcome)."""
    from scipy import stats

    data = shards.dropna(subset=["prev_level", outcome]) if outcome in shards else pd.DataFrame()
    if data.empty or data[outcome].nunique() < 2 or data["prev_level"].nunique() < 2:
        return None
    terms = [t for t, col in (("C(model_id)", "model_id"), ("C(level)", "level"), ("C(power_mode_id)",
                                                                                  "power_mode_id"))
             if data[col].nunique() > 1]
    reduced = f"{outcome} ~ " + (" + ".join(terms) or "1")
    full = reduced + " + C(prev_level)"
    df = data["prev_level"].nunique() - 1
    if len(data) <= len(terms) * 5 + df + 2:
        return None
    method, (llf_full, llf_reduced, params) = "mixed model (category random intercept, ML)", (None, None, None)
    try:
        llf_full, llf_reduced, params = _fit_mixed(data, full, reduced)
    except (ValueError, np.linalg.LinAlgError):
        method = "least squares (the mixed model did not fit)"
    if llf_full is None:
        import statsmodels.formula.api as smf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a rank-deficient design (an unbalanced order) still gives its LR
            fit_full, fit_reduced = smf.ols(full, data).fit(), smf.ols(reduced, data).fit()
        llf_full, llf_reduced, params = fit_full.llf, fit_reduced.llf, fit_full.params
    statistic = max(0.0, 2 * (llf_full - llf_reduced))
    effects = {name.split("T.", 1)[1].rstrip("]"): float(v) for name, v in params.items() if "prev_level" in name}
    largest = max(effects.items(), key=lambda kv: abs(kv[1])) if effects else (None, None)
    return {"outcome": outcome, "shards": int(len(data)), "chi2": statistic, "df": int(df),
            "p": float(stats.chi2.sf(statistic, df)), "largest_level": largest[0], "largest_effect": largest[1],
            "reference_level": sorted(data["prev_level"].unique())[0], "method": method}


def _fit_mixed(data: pd.DataFrame, full: str, reduced: str):
    import statsmodels.formula.api as smf

    if data["category"].nunique() < 2:
        raise ValueError("one category: no random intercept to fit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on small studies; the fallback covers failures
        fit_full = smf.mixedlm(full, data, groups=data["category"]).fit(reml=False)
        fit_reduced = smf.mixedlm(reduced, data, groups=data["category"]).fit(reml=False)
    if not (np.isfinite(fit_full.llf) and np.isfinite(fit_reduced.llf)):
        raise ValueError("no finite likelihood")
    return fit_full.llf, fit_reduced.llf, fit_full.fe_params


def carryover_lines(runs: pd.DataFrame, levels: List[str], alpha: float = 0.05) -> List[tuple]:
    """(status, name, detail) for validation.txt: the pair balance per model, then the test per outcome."""
    shards = shard_means(runs)
    if shards.empty:
        return [("INFO", "carryover balance", "no shard_position on the records (older shards)")]
    out = []
    for model, counts in pair_counts(shards, levels).items():
        values = list(counts.values())
        spread = max(values) - min(values) if values else 0
        pairs = ", ".join(f"{a}>{b} {n}" for (a, b), n in counts.items())
        status = "PASS" if spread <= 1 else "WARN"
        out.append((status, f"carryover balance {model}", f"each ordered pair of levels {min(values)}-{max(values)} "
                                                          f"times in a row (spread {spread}): {pairs}"))
    for outcome, unit in OUTCOMES:
        result = carryover_test(shards, outcome)
        if result is None:
            out.append(("INFO", f"carryover {outcome}", "not tested (too few shards, or not measured)"))
            continue
        verdict = "the previous shard's level matters" if result["p"] < alpha else "no carryover detected"
        out.append(("WARN" if result["p"] < alpha else "PASS", f"carryover {outcome}",
                    f"{verdict}: chi2 {result['chi2']:.2f} on {result['df']} df, p = {result['p']:.3g} "
                    f"({result['shards']} shards, {result['method']}); largest: after {result['largest_level']} "
                    f"{result['largest_effect']:+.4g} {unit} vs after {result['reference_level']}"))
    return out
