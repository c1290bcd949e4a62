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


POOLED_COLUMNS = ["contrast", "level", "reference", "metric", "estimate", "ci_low", "ci_high", "se", "p_raw", "p_adj",
                  "family_size", "tost_p_raw", "tost_p_adj", "equivalence", "mde", "mde_alpha", "models", "questions",
                  "n", "formula", "note"]


def pooled_level_effects(frame: pd.DataFrame, levels: Sequence[str], contrasts, alpha: float, confidence: float,
                         margin: float, metric: str = "quality") -> pd.DataFrame:
    """The primary answer to question 1: each declared contrast pooled over the models, from the additive mixed
    model  metric ~ level + model + (1 | question) + (1 | question:model)  (ML, statsmodels MixedLM). The level
    coefficients are the level effects averaged over models (with complete, balanced data exactly the mean over
    models of the paired per-question differences); the question:model component keeps each model's questions
    paired, so model x question spread does not inflate the SE. Wald z CI and test; Holm over the pooled family
    (its size beside each p); TOST against +-margin; the MDE at 80 % power at Holm's most stringent level."""
    from scipy.stats import norm

    from .contrasts import holm, verdict

    used = frame[frame["in_analysis"] & frame["level"].isin(levels)].dropna(subset=[metric])
    present = [lvl for lvl in levels if lvl in set(used["level"])]
    family = [c for c in contrasts if c[1] in present and c[2] in present]
    data = pd.DataFrame({"y": used[metric].astype(float), "question": used["question_id"].astype(str),
                         "level": pd.Categorical(used["level"], categories=present),
                         "model": used["model_id"].astype(str)})
    several = data["model"].nunique() > 1
    formula = "y ~ C(level) + C(model)" if several else "y ~ C(level)"
    shown = formula + " + (1 | question)" + (" + (1 | question:model)" if several else "")
    base = {"metric": metric, "models": data["model"].nunique(), "questions": data["question"].nunique(),
            "n": len(data), "formula": shown}
    if not family or data["question"].nunique() < 3 or data["y"].var() == 0:
        return pd.DataFrame([{**base, "contrast": c[0], "level": c[1], "reference": c[2],
                              "note": "not estimable: too few levels, questions or no variation"} for c in family],
                            columns=POOLED_COLUMNS)
    from statsmodels.formula.api import mixedlm

    model = mixedlm(formula, data, groups=data["question"], re_formula="1",
                    vc_formula={"model": "0 + C(model)"} if several else None)
    fit = None
    for method in FIT_METHODS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = model.fit(reml=False, method=method)
        except (np.linalg.LinAlgError, ValueError):
            continue
        if fit.converged:
            break
    if fit is None:
        return pd.DataFrame([{**base, "contrast": c[0], "level": c[1], "reference": c[2],
                              "note": "the mixed model did not fit"} for c in family], columns=POOLED_COLUMNS)
    names = list(fit.fe_params.index)
    cov = fit.cov_params().loc[names, names].to_numpy()
    z = norm.ppf((1 + confidence) / 2)
    rows = []
    for name, level, reference in family:
        weights = np.zeros(len(names))
        for lvl, sign in ((level, 1.0), (reference, -1.0)):
            term = f"C(level)[T.{lvl}]"
            if term in names:
                weights[names.index(term)] += sign
        estimate = float(weights @ fit.fe_params.to_numpy())
        se = float(np.sqrt(max(weights @ cov @ weights, 0.0)))
        p = float(2 * norm.sf(abs(estimate) / se)) if se > 0 else np.nan
        tost = float(max(norm.sf((estimate + margin) / se), norm.cdf((estimate - margin) / se))) if se > 0 else np.nan
        rows.append({**base, "contrast": name, "level": level, "reference": reference, "estimate": estimate,
                     "ci_low": estimate - z * se, "ci_high": estimate + z * se, "se": se, "p_raw": p,
                     "tost_p_raw": tost, "note": "" if fit.converged else "the fit did not fully converge"})
    table = pd.DataFrame(rows, columns=POOLED_COLUMNS)
    table["p_adj"], size = holm(table["p_raw"].tolist())
    table["tost_p_adj"] = holm(table["tost_p_raw"].tolist())[0]
    table["family_size"] = size
    table["mde_alpha"] = alpha / max(size, 1)
    # Wald z: the effect found with 80 % power is (z_{1 - level/2} + z_{0.8}) standard errors
    table["mde"] = (norm.ppf(1 - table["mde_alpha"] / 2) + norm.ppf(0.8)) * table["se"]
    table["equivalence"] = [verdict(r.estimate, r.p_adj, r.tost_p_adj, alpha, margin) for r in table.itertuples()]
    return table
