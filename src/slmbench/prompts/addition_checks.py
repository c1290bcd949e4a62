"""The checks on what a level adds to the level it builds on: the one home of each, used by the prompt audit
(on any prompt source) and by the llm generator (on each addition before it is accepted).

An addition must stay in its band (slmbench.levels), must not state a final value of the question's
reference answer (references.leaked), must not ask for visible extra output (the judge's conciseness would
then mark the answer down, and the level would measure that instead), and padding must not be labelled as
irrelevant (P would then stop testing padding: the model is told what to skip), must be off-topic (padding on
the question's subject is information, not length) and must read as prose (a list, a heading or a sentence
said twice is not the fluent paragraph P stands for).
"""

from __future__ import annotations

import re
from typing import List, Mapping

from .. import levels as design
from .references import leaked

# Phrasings that make the model write something besides the answer (the judge's conciseness then marks it down)
VISIBLE_OUTPUT = (
    "state your interpretation", "state your assumption", "state it in one sentence", "in one sentence before",
    "restate", "list the facts", "list the constraints", "list the requirements", "write down",
    "before you answer, write", "begin your answer by", "start your answer by", "show your plan",
    "explain your plan", "summarize the task", "summarise the task", "describe your approach",
)
# Phrasings that tell the model to ignore the padding (then P no longer tests padding)
LABELLED_PADDING = (
    "not related to the task", "unrelated to the task", "not relevant", "irrelevant", "ignore this",
    "ignore the following", "you can ignore", "background note", "has nothing to do with", "off-topic",
    "off topic", "filler text", "padding",
)
# Padding that shares this many distinct content words with the question is on its subject. Content words are
# words of 6+ letters outside COMMON: long enough that a shared one is a shared subject, not shared grammar.
ON_TOPIC_SHARED_WORDS = 3
COMMON = frozenset("""
    should would could please answer question questions following provide explain describe however because
    through another before during between without within around something someone things people number
    include includes including example examples always really little rather answers written writing
    whether simple second together therefore already almost making called certain become becomes across
""".split())
CONTENT_WORD = re.compile(r"[a-z]{6,}")
NOT_PROSE = re.compile(r"^\s*(?:[-*•#>]|\d+[.)]\s)", re.M)  # a list item, a heading or a quote at a line's start
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def content_words(text: str) -> set:
    return {w for w in CONTENT_WORD.findall(text.lower()) if w not in COMMON}


def padding_flaws(level: str, question: str, addition: str) -> List[str]:
    """Why a padding level's addition is not fluent, off-topic prose (none for other kinds of level)."""
    if level not in design.PADDING_LEVELS or not addition.strip():
        return []
    flaws = []
    shared = sorted(content_words(question) & content_words(addition))
    if len(shared) >= ON_TOPIC_SHARED_WORDS:
        flaws.append(f"it is on the question's subject (shares {', '.join(repr(w) for w in shared[:5])})")
    if NOT_PROSE.search(addition):
        flaws.append("it is not a paragraph of prose (a list, heading or quote)")
    said = [" ".join(s.lower().split()) for s in SENTENCE_END.split(addition.strip()) if len(s.split()) >= 4]
    repeated = next((s for i, s in enumerate(said) if s in said[:i]), None)
    if repeated:
        flaws.append(f"it says a sentence twice ('{repeated[:40]}...')")
    return flaws


def visible_output(addition: str) -> List[str]:
    """The phrases of an addition that ask for visible extra output."""
    lowered = addition.lower()
    return [phrase for phrase in VISIBLE_OUTPUT if phrase in lowered]


def labelled_padding(level: str, addition: str) -> List[str]:
    """The phrases that label a padding level's addition as irrelevant (none for other kinds of level)."""
    if level not in design.PADDING_LEVELS:
        return []
    lowered = addition.lower()
    return [phrase for phrase in LABELLED_PADDING if phrase in lowered]


def addition_problems(level: str, lengths: Mapping[str, int], question: str, addition: str,
                      values: List[str]) -> List[str]:
    """Why an addition cannot be accepted (empty: it can). `lengths`: the tokens of the question's levels so
    far and of `level` with this addition; `question`: L0; `values`: the final values of its references."""
    if not addition.strip():
        return ["it is empty"]
    problems = []
    band = design.step_problem(level, lengths)
    if band:
        problems.append(f"out of band: {band}")
    leaks = leaked(values, question, addition)
    if leaks:
        problems.append(f"it states the answer ({', '.join(repr(v) for v in leaks)} is a final value of the "
                        f"reference answer)")
    visible = visible_output(addition)
    if visible:
        problems.append(f"it asks for visible extra output ('{visible[0]}'): the reader must write only the answer")
    labelled = labelled_padding(level, addition)
    if labelled:
        problems.append(f"it labels the padding as irrelevant ('{labelled[0]}'): the paragraph must read as plain "
                        f"text with no comment on its relevance")
    problems += [f"{flaw}: padding must be one fluent paragraph on an unrelated subject"
                 for flaw in padding_flaws(level, question, addition)]
    return problems
