"""What the llm prompt writer is asked: one request per question and level, and the follow-up after a check
fails.

Each request shows the prompt so far (the level this one builds on, slmbench.levels), so the guidance
complements the clarification and the example follows both; the addition is appended after a blank line.
The rules every addition shares (never answer, never ask for visible extra output, and what no level may add:
slmbench.levels.NO_LEVEL_MAY) are the system turn; the user turn says what this level adds (levels.MAY_ADD), for
this question, and how long it must be.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, Tuple

from .. import levels as design

RULES = (
    "You write one addition to a prompt, for a study of how the wording of a prompt changes the answers of small "
    "language models. Your addition is appended to the prompt after a blank line, and a model then reads the whole "
    "prompt and answers it. Rules for every addition:\n"
    "- Do not answer the question, and do not state, hint at or work out its answer or any of its final values "
    "(numbers, names, the conclusion).\n"
    "- Ask for no visible extra output: never ask the reader to restate the question, list the facts or constraints "
    "first, state its interpretation or assumptions, show or explain a plan, or summarise the task.\n"
    f"- {design.NO_LEVEL_MAY}\n"
    "- Where you quote the question, quote whole clauses: never end a quotation inside a phrase or before a number "
    "or condition of its sentence.\n"
    "- Do not repeat the prompt or address the person who wrote it. Write in the language of the prompt.\n"
    "- Reply with the addition only: no title, no label, no preface, no quotation marks around it."
)
# What each kind of addition is asked to be: slmbench.levels.MAY_ADD, then what that means for this question
KIND_REQUESTS = {
    "clarification": (
        f"Write this level's addition. It {design.MAY_ADD['clarification']}. Resolve the question's real "
        "ambiguities; the addition must be specific to this question, not advice that would fit any question, and it "
        "may state no number or value that the question itself does not contain."),
    "guidance": (
        f"Write this level's addition. It {design.MAY_ADD['guidance']}, for this particular task. It must complement "
        "the clarification already in the prompt, not repeat it, and it may state no number or value that the "
        "question itself does not contain. The steps are for the reader's own thinking: do not ask for them to be "
        "written out, and do not ask for them to be left out."),
    "example": (
        f"Write this level's addition. It {design.MAY_ADD['example']}, showing the approach the question needs. "
        "Introduce it as an example (e.g. 'For example, a similar task: ...'). It must not solve this question, none "
        "of its results may be a result of this question, and its task must be new: not an example written for "
        "another question of the study."),
    "padding": (
        f"Write this level's addition. It {design.MAY_ADD['padding']}: one paragraph on, for example, a town market, "
        "a garden in spring, a train journey or a library's reading room. Do not mention the prompt, the question or "
        "any task, and do not comment on the paragraph itself: never call it unrelated, irrelevant, background, "
        "filler or something to ignore. No heading."),
}
AIM_MARGIN = 10  # tokens kept inside each end of a band: the writer's counts are rough
WORDS_PER_TOKEN = 0.75  # English prose: how the token range is said in words, which a model can gauge


def aim(level: str, lengths: Mapping[str, int]) -> Tuple[int, int]:
    """The tokens the addition should add: inside the level's band, or, for a length-matched control, within
    half its slack of what the matched level adds over L0 (`lengths`: the levels written so far)."""
    band = design.band_of(level)
    if band is not None:
        margin = min(AIM_MARGIN, (band.high - band.low) // 4)
        return band.low + margin, band.high - margin
    matched = design.level(level).matches
    target = lengths[matched] - lengths["L0"]
    half = design.control_slack(target) // 2
    return max(1, target - half), target + half


def variant_line(variant: int) -> str:
    """Variant v > 0: an independent wording of the same level (its own request, so its own cache entry)."""
    if not variant:
        return ""
    return (f"\nThis is independent wording number {variant + 1} of this addition: write it afresh, with another "
            f"structure and other words than a first draft would use, under the same rules.")


def request(level: str, base_text: str, tokens: Tuple[int, int], variant: int = 0) -> List[dict]:
    """The messages that ask for `level`'s addition to `base_text` (the prompt so far)."""
    low, high = tokens
    kind = design.level(level).kind
    ask = (f"{KIND_REQUESTS[kind]}\nLength: between {low} and {high} tokens (about {int(low * WORDS_PER_TOKEN)} to "
           f"{int(high * WORDS_PER_TOKEN)} words).{variant_line(variant)}\n\n"
           f"The prompt so far (between the lines; do not repeat it):\n-----\n{base_text}\n-----")
    return [{"role": "system", "content": RULES}, {"role": "user", "content": ask}]


def follow_up(problems: List[str], tokens: Tuple[int, int], growth: Optional[int]) -> str:
    """The turn after a rejected addition: every reason, then what to write instead."""
    low, high = tokens
    size = f" It added {growth} tokens; the addition must add between {low} and {high}." if growth is not None \
        else ""
    return (f"That addition cannot be used: {'; '.join(problems)}.{size} Write the whole addition again with this "
            f"fixed, following every rule; reply with the addition only.")
