"""`slmbench plan`: the power of the study's declared contrasts before it runs, by simulation.

Design: the configured models x levels x questions (x prompt variants, averaged per question as the report does),
the declared contrast family of report/contrasts.py (each level vs the baseline, padding vs the level it pads,
the successive levels), Holm over all models x contrasts at report.alpha, and for the pooled level effect Holm over
the pooled contrasts (mixed.pooled_level_effects).

Noise model, stated: the quality of model m at level l on question q is

    y = mu[m, l] + u[m, q] + e[m, q, l],   u ~ N(0, question_sd^2),  e ~ N(0, residual_sd[m]^2 / variants)

u is the question's difficulty for that model; e is what a level's answer adds on top of it (the answer and its
verdict differ between levels of one question). The paired per-question difference of two levels then has SD
sqrt(2) x residual_sd: u cancels, as it does in the report's paired contrasts. The pooled effect averages the
models' differences per question (e independent between models: a shared question x level component would make
the pooled effect noisier than this says; estimate the noise --from a pilot to see).

Defaults (DEFAULT_NOISE): question_sd 1.5 and residual_sd 1.3 points on the 0-10 scale. Why these: single-answer
LLM-judge scores of one small model on MT-Bench questions spread about 1.5-2 points between questions (some are
easy for it, others it fails), and a change of prompt wording moves one question's score by about 1-1.5 points (a
different answer, a judge verdict that moves by half-points): residual 1.3 gives a per-question difference SD of
about 1.8 points, d_z = 0.27 for a 0.5-point effect. They are round planning figures, not measurements of this
project's models: run a pilot and pass `--from` its results directory to replace them.

Power of one contrast: its true effect is the target, every other contrast of the family is null (so Holm gets no
help from other rejections: the honest worst case), and a contrast is found when its Holm-adjusted p is below
alpha. Each simulated study is tested on the question means by the normal approximation of the report's sign-flip
permutation test of the mean difference (_t_p): the same estimate and, for the sample sizes here, the same power
as the report's exact test, at a fraction of its cost (benchmarks/plan_power.py runs simulated studies through
report/contrasts.contrast_table and compares).
The minimum detectable effect (MDE) is the effect found with 80 % power, searched over effect sizes on the same
simulated noise (common random numbers, so power rises smoothly with the effect); the questions needed are searched
the same way over the number of questions.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from ..errors import UserError

POWER = 0.8
DEFAULT_QUESTION_SD = 1.5  # points (0-10): between-question spread of one model's scores
DEFAULT_RESIDUAL_SD = 1.3  # points (0-10): what one level's answer moves a question's score by
MAX_QUESTIONS = 5000  # the search for the questions that reach 80 % stops here
QUESTIONS_PER_CATEGORY = 10  # MT-Bench's, assumed while the question file is not there yet


@dataclass(frozen=True)
class NoiseModel:
    question_sd: float = DEFAULT_QUESTION_SD
    residual_sd: float = DEFAULT_RESIDUAL_SD  # for a model without its own entry
    per_model: Mapping[str, float] = field(default_factory=dict)  # model -> residual sd (estimated --from)
    source: str = "defaults"

    def residual(self, model: str) -> float:
        return float(self.per_model.get(model, self.residual_sd))


@dataclass(frozen=True)
class Design:
    models: Tuple[str, ...]
    levels: Tuple[str, ...]
    questions: int
    variants: int = 1
    alpha: float = 0.05
    questions_note: str = ""

    @property
    def contrasts(self):
        from .contrasts import declared_contrasts

        return declared_contrasts(list(self.levels))


@dataclass
class PowerRow:
    scope: str  # a model, or "pooled (N models)"
    residual_sd: float
    sd_diff: float  # SD of the tested per-question difference
    family_size: int
    power: float  # at the target effect
    mde: float  # points, 80 % power
    questions_80: Optional[int] = None  # questions that reach 80 % at the target effect (None: beyond the search)
    searched: bool = False  # the questions search ran for this scope (the noisiest model and the pooled effect)


@dataclass
class Plan:
    design: Design
    noise: NoiseModel
    effect: float
    simulations: int
    seed: int
    rows: List[PowerRow]


# --- the simulation -------------------------------------------------------------------------------------------

def _null_differences(design: Design, noise: NoiseModel, questions: int, sims: int,
                      rng: np.random.Generator) -> np.ndarray:
    """(sims, models, contrasts, questions): the declared contrasts' per-question differences of simulated
    studies with every level equal (the null), drawn from the noise model."""
    levels = list(design.levels)
    index = {lvl: j for j, lvl in enumerate(levels)}
    pairs = [(index[c[1]], index[c[2]]) for c in design.contrasts]
    out = np.empty((sims, len(design.models), len(pairs), questions))
    for m, model in enumerate(design.models):
        u = rng.normal(0.0, noise.question_sd, size=(sims, questions, 1))
        e = rng.normal(0.0, noise.residual(model) / np.sqrt(design.variants), size=(sims, questions, len(levels)))
        y = u + e
        for c, (j, ref) in enumerate(pairs):
            out[:, m, c, :] = y[:, :, j] - y[:, :, ref]
    return out


def _t_p(mean: np.ndarray, sd: np.ndarray, n: int) -> np.ndarray:
    """Two-sided p of the report's sign-flip test of the mean difference, by its normal approximation: under
    random signs the sum of the differences has variance sum(d^2) (= (n-1) sd^2 + n mean^2), so
    z = sum(d) / sqrt(sum(d^2)). Not the paired t-test: the permutation null widens with the mean itself, which
    costs the sign-flip test 2-3 points of power at the effects planned here (benchmarks/plan_power.py)."""
    from scipy.stats import norm

    with np.errstate(divide="ignore", invalid="ignore"):
        stat = n * mean / np.sqrt((n - 1) * sd ** 2 + n * mean ** 2)
    return 2 * norm.sf(np.abs(stat))


def holm_adjusted(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values along the last axis (the same as statsmodels multipletests "holm", vectorised
    over simulated studies)."""
    k = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * (k - np.arange(k))
    ranked = np.minimum(np.maximum.accumulate(ranked, axis=-1), 1.0)
    adjusted = np.empty_like(ranked)
    np.put_along_axis(adjusted, order, ranked, axis=-1)
    return adjusted


class _Family:
    """One family's simulated null statistics; the power of its target contrast for any true effect."""

    def __init__(self, diffs: np.ndarray, target: int):
        # diffs: (sims, family, questions)
        self.n = diffs.shape[-1]
        self.mean = diffs.mean(axis=-1)
        self.sd = diffs.std(axis=-1, ddof=1)
        self.p = _t_p(self.mean, self.sd, self.n)
        self.target = target

    def power(self, effect: float, alpha: float) -> float:
        p = self.p.copy()
        t = self.target
        p[:, t] = _t_p(self.mean[:, t] + effect, self.sd[:, t], self.n)
        return float(np.mean(holm_adjusted(p)[:, t] < alpha))

    def mde(self, alpha: float, power: float = POWER) -> float:
        """The smallest effect (to 0.001 points) with simulated power >= `power` (bisection)."""
        low, high = 0.0, max(float(np.median(self.sd[:, self.target])), 1e-6)
        while self.power(high, alpha) < power:
            low, high = high, 2 * high
            if high > 100:
                return np.nan
        while high - low > 0.001:
            mid = (low + high) / 2
            low, high = (mid, high) if self.power(mid, alpha) < power else (low, mid)
        return high


def detectable_dz(n: int, family: int, alpha: float, power: float = POWER, simulations: int = 4000,
                  seed: int = 25) -> float:
    """The standardised effect (mean / SD of the per-question differences) that the report's sign-flip test finds
    with `power` in one contrast of a Holm family of `family` tests (the others null), n paired questions: by
    simulation of standard normal differences (contrasts.contrast_table's `mde` column, from the observed SD)."""
    if n < 3 or family < 1:
        return np.nan
    diffs = np.random.default_rng(seed).standard_normal((simulations, family, n))
    return _Family(diffs, 0).mde(alpha, power)


def _families(design: Design, noise: NoiseModel, questions: int, sims: int, seed: int) -> Dict[str, _Family]:
    """Per model: the whole declared family (models x contrasts) with that model's first contrast as target;
    pooled: the per-question means over models of each contrast, the first as target."""
    rng = np.random.default_rng(seed)
    diffs = _null_differences(design, noise, questions, sims, rng)
    sims_, models, contrasts, _ = diffs.shape
    flat = diffs.reshape(sims_, models * contrasts, questions)
    out = {model: _Family(flat, m * contrasts) for m, model in enumerate(design.models)}
    if models > 1:
        out[f"pooled ({models} models)"] = _Family(diffs.mean(axis=1), 0)
    return out


def _questions_for(design: Design, noise: NoiseModel, scope: str, effect: float, sims: int, seed: int) -> Optional[int]:
    """The fewest questions whose simulated power at `effect` reaches 80 % (bisection over questions)."""
    def power(n: int) -> float:
        return _families(design, noise, n, sims, seed)[scope].power(effect, design.alpha)

    low, high = 2, max(design.questions, 4)
    while power(high) < POWER:
        low, high = high, 2 * high
        if high > MAX_QUESTIONS:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if power(mid) < POWER else (low, mid)
    return high


def plan_power(design: Design, noise: NoiseModel, effect: float, simulations: int, seed: int,
               questions_search: bool = True) -> Plan:
    """Power at `effect`, MDE at 80 % and (questions_search) the questions for 80 %, per model and pooled."""
    if design.questions < 3 or len(design.levels) < 2:
        raise UserError(f"slmbench plan: the design has {design.questions} question(s) and {len(design.levels)} "
                        "level(s); a paired contrast needs at least 3 questions and 2 levels")
    families = _families(design, noise, design.questions, simulations, seed)
    size = len(design.models) * len(design.contrasts)
    rows = []
    for scope, family in families.items():
        pooled = scope not in design.models
        residual = (float(np.sqrt(np.mean([noise.residual(m) ** 2 for m in design.models]))) if pooled
                    else noise.residual(scope))
        sd_diff = residual * np.sqrt(2 / design.variants / (len(design.models) if pooled else 1))
        search = questions_search and (pooled or scope == _noisiest(design, noise))
        needed = _questions_for(design, noise, scope, effect, simulations, seed) if search else None
        rows.append(PowerRow(scope, residual, float(sd_diff), len(design.contrasts) if pooled else size,
                             family.power(effect, design.alpha), family.mde(design.alpha), needed, search))
    return Plan(design, noise, effect, simulations, seed, rows)


def _noisiest(design: Design, noise: NoiseModel) -> str:
    return max(design.models, key=noise.residual)


# --- the design and the noise from the config and a finished study ---------------------------------------------

def design_from_config(config: Mapping, questions: Optional[int] = None) -> Design:
    """The study's design: its models and levels, its questions (the prompt rows or question file status.py
    counts; MT-Bench's 10 per category while none is there; `questions` overrides), its variants."""
    variants = int(config["prompts"].get("variants") or 1)
    levels = tuple(config["levels"])
    note = ""
    if questions is None:
        from ..layout import StudyLayout
        from ..status import answer_counts

        counts, source = answer_counts(config, StudyLayout.from_config(config))
        questions = sum(counts.get((c, levels[0]), 0) for c in config["categories"]) // variants
        note = f"counted from {source}"
        if not questions:
            questions = QUESTIONS_PER_CATEGORY * len(config["categories"])
            note = (f"assumed {QUESTIONS_PER_CATEGORY} per category ({len(config['categories'])} categories) until "
                    f"the questions are counted {source}")
    else:
        note = "--questions"
    return Design(tuple(m["id"] for m in config["models"]), levels, int(questions), variants,
                  float(config["report"]["alpha"]), note)


def noise_from_results(results_dir: str, config: Mapping) -> NoiseModel:
    """The noise of a finished (pilot or earlier) study: per model, the residual SD from the declared contrasts'
    per-question differences (their variance / 2, averaged over contrasts), and the between-question SD of the
    question means less the residual's share."""
    from ..layout import RUNS_FILE, SCORES_FILE
    from .data import load_study
    from .settings import settings_from_config

    runs, scores = os.path.join(results_dir, RUNS_FILE), os.path.join(results_dir, SCORES_FILE)
    for path in (runs, scores):
        if not os.path.isfile(path):
            raise UserError(f"slmbench plan --from {results_dir}: no {os.path.basename(path)} there ({path}); "
                            "give the results directory of a finished (judged) study")
    settings = {**settings_from_config(config), "levels": None, "models": None, "categories": None,
                "bootstrap_samples": 100}
    study = load_study(runs, scores, settings)
    noise = noise_from_study(study, f"estimated from {results_dir}")
    if noise is None:
        raise UserError(f"slmbench plan --from {results_dir}: no model has 3 or more questions scored at two "
                        "levels; the noise cannot be estimated from it")
    return noise


def noise_from_study(study, label: str) -> Optional[NoiseModel]:
    """The noise model of a loaded Study (None when no model has 3+ questions scored at two levels)."""
    from .contrasts import declared_contrasts
    from .stats import analysis_rows, model_data

    frame = analysis_rows(study.runs)
    per_model, question_var = {}, []
    for model in study.models:
        data = model_data(study, frame, model)
        q = data.quality
        variances = []
        for _name, level, reference in declared_contrasts(data.levels):
            d = q[:, data.levels.index(level)] - q[:, data.levels.index(reference)]
            d = d[~np.isnan(d)]
            if d.size > 2:
                variances.append(np.var(d, ddof=1) / 2)
        if not variances:
            continue
        per_model[model] = float(np.sqrt(np.mean(variances)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a question with no score at any level
            means = np.nanmean(q, axis=1)
        means = means[~np.isnan(means)]
        if means.size > 2:
            question_var.append(np.var(means, ddof=1) - per_model[model] ** 2 / len(data.levels))
    if not per_model:
        return None
    residual = float(np.sqrt(np.mean(np.square(list(per_model.values())))))
    question_sd = float(np.sqrt(max(np.mean(question_var), 0.0))) if question_var else DEFAULT_QUESTION_SD
    return NoiseModel(question_sd, residual, per_model,
                      f"{label} ({len(study.questions)} questions, {len(per_model)} models)")


def study_plan(study) -> Optional[Plan]:
    """The plan of a finished study's own design with its own noise (summary.md): what its contrasts could find,
    and the MDE, beside the results; None when the noise cannot be estimated."""
    noise = noise_from_study(study, "estimated from this study")
    s = study.settings
    if noise is None or len(study.questions) < 3 or len(study.levels) < 2:
        return None
    design = Design(tuple(study.models), tuple(study.levels), len(study.questions), max(1, len(study.variants)),
                    s.alpha, "this study")
    return plan_power(design, noise, s.target_effect, s.power_simulations, s.seed, questions_search=False)


# --- output ------------------------------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f} %"


def format_plan(plan: Plan) -> str:
    d, noise = plan.design, plan.noise
    names = ", ".join(c[0] for c in d.contrasts)
    size = len(d.models) * len(d.contrasts)
    lines = [
        f"slmbench plan: {len(d.models)} model(s) x {len(d.levels)} levels x {d.questions} questions "
        f"({d.questions_note})" + (f" x {d.variants} prompt variants" if d.variants > 1 else ""),
        f"declared contrasts per model ({len(d.contrasts)}): {names}; Holm over {size} tests ({len(d.models)} "
        f"models x {len(d.contrasts)}) at alpha {d.alpha:g}; pooled level effect: Holm over {len(d.contrasts)}",
        f"noise model ({noise.source}): question sd {noise.question_sd:.2f}, residual sd {noise.residual_sd:.2f} "
        "quality points (0-10); the paired difference of two levels has sd "
        f"{noise.residual_sd * np.sqrt(2 / d.variants):.2f}",
        f"power for a true {plan.effect:g}-point effect in one contrast (the rest of the family null), by "
        f"{plan.simulations} simulated studies (seed {plan.seed}); MDE: the effect found with 80 % power",
        "",
        f"{'scope':<28} {'residual sd':>11} {'diff sd':>7} {'family':>6} {'power':>6} {'MDE 80 %':>8}  "
        "questions for 80 %",
    ]
    for r in plan.rows:
        if not r.searched:
            needed = "at most the noisiest model's" if r.scope in d.models else "not searched"
        else:
            needed = f"more than {MAX_QUESTIONS}" if r.questions_80 is None else str(r.questions_80)
        lines.append(f"{r.scope:<28} {r.residual_sd:>11.2f} {r.sd_diff:>7.2f} {r.family_size:>6} "
                     f"{_pct(r.power):>6} {r.mde:>8.2f}  {needed}")
    return "\n".join(lines)


def plan_line(plan: Plan) -> str:
    """One line for `slmbench status` and summary.md."""
    per_model = [r for r in plan.rows if r.scope in plan.design.models]
    pooled = [r for r in plan.rows if r.scope not in plan.design.models]
    worst = next(r for r in per_model if r.scope == _noisiest(plan.design, plan.noise))
    text = (f"power for a true {plan.effect:g}-point effect ({plan.design.questions} questions, noise "
            f"{plan.noise.source}, Holm over {worst.family_size}): {_pct(worst.power)} per model contrast (MDE at "
            f"80 %: {worst.mde:.2f} points)")
    if pooled:
        text += f", {_pct(pooled[0].power)} pooled over models (MDE {pooled[0].mde:.2f})"
    return text


def status_line(config: Mapping) -> str:
    """`slmbench status` before the first shard: the plan at the configured effect, cheaply (200 simulations,
    no questions search: well under a second)."""
    report = config["report"]
    try:
        plan = plan_power(design_from_config(config), NoiseModel(), float(report["target_effect"]), 200,
                          int(report["seed"]), questions_search=False)
    except UserError as exc:  # too small a design: status still reports everything else
        return f"power: not estimated ({exc})"
    return "power: " + plan_line(plan) + "; `slmbench plan` for the table"


# --- the command ---------------------------------------------------------------------------------------------------

def _cmd_plan(args) -> int:
    from ..profile import load_study_config

    config, _files = load_study_config(args.configfile, args.profile, args.config_items)
    report = config["report"]
    if args.questions is not None and args.questions < 3:
        raise UserError(f"slmbench plan: --questions {args.questions}; a paired contrast needs at least 3")
    simulations = args.simulations if args.simulations is not None else int(report["power_simulations"])
    if simulations < 50:
        raise UserError(f"slmbench plan: --simulations {simulations}; use at least 50")
    effect = args.effect if args.effect is not None else float(report["target_effect"])
    if not effect > 0:
        raise UserError(f"slmbench plan: --effect {effect}; give a true effect in quality points above 0")
    noise = noise_from_results(args.from_dir, config) if args.from_dir else NoiseModel()
    design = design_from_config(config, args.questions)
    print(format_plan(plan_power(design, noise, effect, simulations, int(report["seed"]))))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plan", help="power and minimum detectable effect of the study's declared contrasts, by simulation")
    from ..profile import add_study_config_arguments

    add_study_config_arguments(parser)
    parser.add_argument("--from", dest="from_dir", metavar="RESULTS_DIR",
                        help="estimate the noise (question and residual SD) from a finished study's runs and scores "
                             "(default: the stated defaults, question sd 1.5, residual sd 1.3)")
    parser.add_argument("--effect", type=float, help="true effect in quality points (default: report.target_effect)")
    parser.add_argument("--simulations", type=int, help="simulated studies (default: report.power_simulations)")
    parser.add_argument("--questions", type=int, help="questions in the design (default: the study's)")
    parser.set_defaults(func=_cmd_plan)


__all__ = ["Design", "NoiseModel", "Plan", "PowerRow", "design_from_config", "format_plan", "holm_adjusted",
           "noise_from_results", "plan_line", "plan_power", "status_line"]
