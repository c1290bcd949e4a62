"""The primary analysis, declared: one linear mixed model per judged metric,

    metric ~ level * model + (1 | question)   [+ (1 | question:variant) when runs carry a `variant` column:
                                               variants of a question's prompt, nested in the question]

fitted by maximum likelihood with statsmodels MixedLM, and two likelihood-ratio tests: the overall level
effect (does the level change the metric for any model: the full model against metric ~ model) and the
level x model interaction (does the level effect differ between models: full against level + model).
The paired contrasts (contrasts.py) then say where the effect lies.
"""

from __future__ import annotations

import warnings
from typing import List, Sequence

import numpy as np
import pandas as pd

from .stats import SCORED

FIT_METHODS = ("lbfgs", "bfgs", "powell")
MIXED_COLUMNS = ["metric", "test", "chi2", "df", "p", "n", "questions", "question_sd", "residual_sd", "converged",
                 "formula", "note"]


def _fit(data: pd.DataFrame, formula: str, variants: bool):
    from statsmodels.formula.api import mixedlm

    vc = {"variant": "0 + C(variant)"} if variants else None
    model = mixedlm(formula, data, groups=data["question"], re_formula="1", vc_formula=vc)
    failure = None
    for method in FIT_METHODS:  # one optimiser can hit a singular Hessian where another does not
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence is reported in the table, not on stderr
                fit = model.fit(reml=False, method=method)
        except (np.linalg.LinAlgError, ValueError) as exc:
            failure = exc
            continue
        if fit.converged or method == FIT_METHODS[-1]:
            return fit
    if failure is not None:
        raise failure
    return fit


def _lrt(full, reduced) -> tuple:
    from scipy.stats import chi2

    df = len(full.fe_params) - len(reduced.fe_params)
    stat = max(0.0, 2 * (full.llf - reduced.llf))
    return stat, df, float(chi2.sf(stat, df)) if df > 0 else np.nan


def mixed_model_tests(frame: pd.DataFrame, levels: Sequence[str], metrics: Sequence[str] = SCORED) -> pd.DataFrame:
    """frame: the analysis rows. Two rows per metric (overall level effect, level x model interaction); the
    interaction only with two or more models."""
    used = frame[frame["in_analysis"] & frame["level"].isin(levels)]
    variants = "variant" in used and used["variant"].nunique(dropna=True) > 1
    rows: List[dict] = []
    for metric in metrics:
        data = used.dropna(subset=[metric])
        data = pd.DataFrame({
            "y": data[metric].astype(float), "question": data["question_id"].astype(str),
            "level": pd.Categorical(data["level"], categories=[lvl for lvl in levels if lvl in set(data["level"])]),
            "model": data["model_id"].astype(str),
            **({"variant": data["variant"].astype(str)} if variants else {}),
        })
        several = data["model"].nunique() > 1
        base = {"metric": metric, "n": len(data), "questions": data["question"].nunique()}
        if data["level"].nunique() < 2 or data["question"].nunique() < 3 or data["y"].var() == 0:
            rows.append({**base, "test": "level (overall)", "note": "not estimable: too few levels, questions "
                                                                   "or no variation"})
            continue
        full_formula = "y ~ C(level) * C(model)" if several else "y ~ C(level)"
        try:
            full = _fit(data, full_formula, variants)
            null = _fit(data, "y ~ C(model)" if several else "y ~ 1", variants)
            additive = _fit(data, "y ~ C(level) + C(model)", variants) if several else None
        except (np.linalg.LinAlgError, ValueError) as exc:
            rows.append({**base, "test": "level (overall)", "note": f"model did not fit: {exc}"})
            continue
        fit_info = {"question_sd": float(np.sqrt(max(full.cov_re.iloc[0, 0], 0.0))),
                    "residual_sd": float(np.sqrt(full.scale)), "converged": bool(full.converged),
                    "formula": full_formula + " + (1 | question)" + (" + (1 | question:variant)" if variants else "")}
        stat, df, p = _lrt(full, null)
        rows.append({**base, **fit_info, "test": "level (overall)", "chi2": stat, "df": df, "p": p,
                     "note": "likelihood ratio vs " + ("y ~ model" if several else "y ~ 1")})
        if additive is not None:
            stat, df, p = _lrt(full, additive)
            rows.append({**base, **fit_info, "test": "level x model", "chi2": stat, "df": df, "p": p,
                         "note": "likelihood ratio vs y ~ level + model"})
    return pd.DataFrame(rows, columns=MIXED_COLUMNS)
