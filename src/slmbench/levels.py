"""The prompt levels of the study and the one rule for their lengths; generation, the token report, the
prompt audit and validation all ask this module.

Levels are cumulative: each contains the one before it and adds one kind of text, so every step isolates
one kind of addition. L1 = L0 + a clarification, L2 = L1 + step guidance, L3 = L2 + a worked example,
P = L3 + padding (information held equal, only length grows). A band is the number of tokens a level adds
over the level it builds on (its `base`), not over L0. The optional controls P1, P2, P3 are L0 plus
neutral padding as long as what L1, L2 and L3 add over L0: they separate length from content.

What each kind of level may add is written here once (MAY_ADD, NO_LEVEL_MAY): the llm writer's requests quote
it, the template writer follows it, and the checks of prompts/addition_checks.py (the writer's and the
audit's) enforce it.

Stdlib only and Python 3.10 compatible (report/validate.py and the prompt tools import it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

STANDARD_LEVELS = ("L0", "L1", "L2", "L3", "P")  # the 1600-run default, in study order
GROWTH_CHAIN = STANDARD_LEVELS  # the rule: L0 < L1 < L2 < L3 < P (tokens), for the levels a study runs
CONTROL_LEVELS = ("P1", "P2", "P3")
CONTROL_TOLERANCE = 0.10  # a control may differ from its matched level's length by 10 % of that addition...
CONTROL_MIN_SLACK = 15  # ...or by 15 tokens, whichever is larger (sentences are not cut in half)


# What each kind of level may add to the level it builds on (DESIGN.md, "What a level may add").
MAY_ADD: Dict[str, str] = {
    "clarification": ("clarifies the question's own ambiguities in the question's words: what exactly is asked, which "
                      "reading of an unclear word, condition or quantity is meant, and what a complete answer covers, "
                      "using only the conditions, numbers, formats and readers that the question itself states"),
    "guidance": ("gives guidance on how to approach this kind of task: what to work out, consider or check, and in "
                 "which order"),
    "example": ("adds a worked example of a similar task: a task of the same kind on another subject, with other "
                "names and values, and its complete answer"),
    "padding": ("adds neutral padding: fluent prose on an everyday subject that has nothing to do with the question, "
                "with no comment on it"),
}
# ...and what none may add: a level that asked for a length or hid the working would measure that instead
# (conciseness is a judged dimension, and with thinking disabled the visible working is the model's reasoning).
NO_LEVEL_MAY = ("No addition tells the reader how long to answer (brief, short, concise, detailed, to the point, "
                "a number of words, sentences or paragraphs) or to hide, skip or leave out its reasoning or working "
                "(only the answer, no explanation, no steps). Where the question itself says so, its own words are "
                "already in every level, and no addition says it again.")
WITH_NUMBERS_OF_THE_QUESTION = ("clarification", "guidance")  # kinds that may state only the question's own values


@dataclass(frozen=True)
class Band:
    """Tokens a level may add over its base, inclusive."""

    low: int
    high: int

    def __contains__(self, growth: int) -> bool:
        return self.low <= growth <= self.high

    def __str__(self) -> str:
        return f"+{self.low}..{self.high}"


@dataclass(frozen=True)
class Level:
    name: str
    base: Optional[str]  # the level whose text this one contains (None: L0, the question itself)
    kind: str  # what the addition is: question, clarification, guidance, example, padding
    band: Optional[Band]  # tokens added over base; None for L0 and for the length-matched controls
    matches: Optional[str] = None  # controls: the level whose growth over L0 this one matches in length

    @property
    def adds(self) -> str:
        """What this level may add (MAY_ADD), empty for L0."""
        return MAY_ADD.get(self.kind, "")


LEVELS: Dict[str, Level] = {
    "L0": Level("L0", None, "question", None),
    "L1": Level("L1", "L0", "clarification", Band(50, 150)),
    "L2": Level("L2", "L1", "guidance", Band(100, 200)),
    "L3": Level("L3", "L2", "example", Band(150, 250)),
    "P": Level("P", "L3", "padding", Band(100, 200)),
    "P1": Level("P1", "L0", "padding", None, matches="L1"),
    "P2": Level("P2", "L0", "padding", None, matches="L2"),
    "P3": Level("P3", "L0", "padding", None, matches="L3"),
}
PADDING_LEVELS = tuple(name for name, level in LEVELS.items() if level.kind == "padding")


def kind_of(name: str) -> Optional[str]:
    """What a level adds (clarification, guidance, example, padding), or None for L0 and a user's own level."""
    spec = LEVELS.get(name)
    return spec.kind if spec and spec.base else None


def level(name: str) -> Optional[Level]:
    """The definition of a level, or None for a level the study design does not know (a user's own)."""
    return LEVELS.get(name)


def base_of(name: str) -> Optional[str]:
    spec = LEVELS.get(name)
    return spec.base if spec else None


def band_of(name: str) -> Optional[Band]:
    spec = LEVELS.get(name)
    return spec.band if spec else None


def step_bands() -> Dict[str, Band]:
    """Level -> its band over its base, for the levels that have one (L1, L2, L3, P)."""
    return {name: spec.band for name, spec in LEVELS.items() if spec.band is not None}


def chain(levels: Sequence[str]) -> List[str]:
    """The levels of the growth rule that a study runs, in rule order (L0 < L1 < L2 < L3 < P)."""
    present = set(levels)
    return [name for name in GROWTH_CHAIN if name in present]


def rule_text(levels: Sequence[str] = STANDARD_LEVELS) -> str:
    return " < ".join(chain(levels))


def control_slack(matched_growth: int) -> int:
    return max(CONTROL_MIN_SLACK, round(CONTROL_TOLERANCE * matched_growth))


def order_problems(lengths: Mapping[str, float]) -> List[Tuple[str, str]]:
    """The order rule on one question's (or the mean) lengths: each level of the chain longer than the one
    before it, each control longer than L0. (level at fault, what is wrong) pairs; the fault is put on the
    level that should be longer."""
    problems = []
    present = chain(list(lengths))
    for shorter, longer in zip(present, present[1:]):
        if not lengths[longer] > lengths[shorter]:
            problems.append((longer, f"{longer} ({lengths[longer]:g} tokens) not longer than {shorter} "
                                     f"({lengths[shorter]:g}); the rule is {rule_text(present)}"))
    for name in CONTROL_LEVELS:
        if name in lengths and "L0" in lengths and not lengths[name] > lengths["L0"]:
            problems.append((name, f"{name} ({lengths[name]:g} tokens) not longer than L0 ({lengths['L0']:g})"))
    return problems


def step_problem(name: str, lengths: Mapping[str, float]) -> Optional[str]:
    """What is wrong with one level's growth over its base (its band), or with a control's length match."""
    spec = LEVELS.get(name)
    if spec is None or spec.base is None or spec.base not in lengths or name not in lengths:
        return None
    growth = lengths[name] - lengths[spec.base]
    if spec.band is not None:
        if growth not in spec.band:
            return f"{growth:+g} tokens over {spec.base}, band {spec.band}"
        return None
    if spec.matches in lengths:
        target = lengths[spec.matches] - lengths["L0"]
        slack = control_slack(int(target))
        if abs(growth - target) > slack:
            return (f"{growth:+g} tokens over L0, but {spec.matches} adds {target:+g}: a length-matched control must "
                    f"be within {slack} tokens of it")
    return None


def growth_problems(lengths: Mapping[str, float]) -> List[Tuple[str, str]]:
    """Every problem with one question's level lengths: bands per step, then the order rule."""
    problems = [(name, problem) for name in lengths if (problem := step_problem(name, lengths))]
    return problems + order_problems(lengths)
