"""The sentences the template generator adds at each level, written for this project.

Each level adds one kind of text to the level before it, as slmbench.levels.MAY_ADD says: L1 clarifies what
the question asks from its own stated conditions (its words, quoted whole: question_facts.quotable), L2 gives
guidance for its kind of task (task_texts.py), L3 a worked example of a similar task on another subject
(example_pool.py: one per question), P an unrelated paragraph (padding_pool.py). No sentence says how long to
answer or tells the model to hide or skip its working, none states a value the question does not give (L1, L2),
none asks for extra visible output, none states an answer, and the padding is never labelled as padding; the
audit's checks (addition_checks.py) hold every one of them to that. generate.py fits each addition into its
token band by taking optional sentences until the growth reaches the middle of the band.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .example_pool import Example
from .padding_pool import padding_sentences as pool_sentences
from .question_facts import QuestionFacts
from .task_texts import TYPES, task_types


@dataclass
class Parts:
    """One addition's sentences: head, then as many `specific` ones as fit the band, then tail; `fillers` are
    taken, in order, only while the addition is still short of its band."""

    head: List[str]
    specific: List[str]
    tail: List[str]
    fillers: List[str]


def pick(facts: QuestionFacts, options: Sequence[str], salt: int = 0) -> str:
    return options[(facts.seed + salt) % len(options)]


def rotated(facts: QuestionFacts, options: Sequence[str], salt: int = 0) -> List[str]:
    start = (facts.seed + salt) % len(options)
    return list(options[start:]) + list(options[:start])


def kinds_of(f: QuestionFacts) -> List[str]:
    return task_types(f.category, f.instruction or f.text, f.text, f.questions, bool(f.count), f.persona)


def mode_of(f: QuestionFacts) -> Optional[str]:
    """The kind of work whose steps replace the category's usual ones (MODE_STEPS), from the first task type that
    names one for this category; None: the category's steps."""
    for kind in kinds_of(f):
        mode, categories = MODES.get(kind, (None, ()))
        if mode and f.category in categories:
            return mode
    return None


def own_texts(f: QuestionFacts, level: str) -> List[str]:
    """The task types' clarifications (L1) or guidance (L2), once each; a type whose work a mode's steps already
    describe (a correction's, in the edit steps) adds no second version of it."""
    mode, texts = mode_of(f), []
    for kind in kinds_of(f):
        if level == "L2" and mode and MODES.get(kind, (None,))[0] == mode:
            continue
        text = TYPES[kind].clarification if level == "L1" else TYPES[kind].guidance
        if text and text not in texts:
            texts.append(text)
    if level == "L1" and mode == "edit":  # one statement of what the reply is: the first edit type's
        edits = [TYPES[k].clarification for k in kinds_of(f) if MODES.get(k, (None,))[0] == "edit"]
        texts = [t for t in texts if t not in edits[1:]]
    return texts




# ---------------------------------------------------------------------------------------------- L1
CATEGORY_CLARIFICATION: Dict[str, Sequence[str]] = {
    "writing": ("It is a writing task: the reply is the finished text itself, ready for its reader, not notes about "
                "one.",
                "What counts is the finished piece of writing, ready to use, rather than advice on how to write it."),
    "roleplay": ("The reply is spoken from inside the situation the request sets up, without stepping out of it.",
                 "Everything in the reply belongs to the scene; remarks about playing a role do not."),
    "reasoning": ("The answer has to follow from the facts the question gives, read in their plain, everyday sense.",
                  "Only the information in the question may be used, and each fact in it may matter."),
    "math": ("A definite value is wanted, exact rather than rounded, with units where the question has them.",
             "The result is a value that follows from the given quantities, exact rather than estimated."),
    "coding": ("The code should run as written and behave correctly on unusual inputs as well as on typical ones.",
               "Working, correct code is the core of the reply, with the explanation that helps a reader use it."),
    "extraction": ("Only what the supplied text actually says counts: nothing is added from general knowledge.",
                   "Every item in the reply has to come from the given text, copied faithfully."),
    "stem": ("The explanation should be scientifically correct, with the terms and quantities a textbook would use.",
             "Accuracy comes first: each claim should be one that a specialist in the field would accept."),
    "humanities": ("A good reply weighs more than one view and grounds its claims in concrete, named examples.",
                   "General statements need support here: names, periods, cases or works that show the point."),
}
GENERIC_CLARIFICATION = ("A good reply covers every part of the request.",
                         "Each part of the request deserves an answer of its own.")
OPENINGS = ('What is asked is this: "{ask}"', 'The request, in its own words: "{ask}"', 'The task is: "{ask}"')
L1_FILLERS = (
    "Where the request leaves a detail open, the most natural reading is the intended one.",
    "The wording of the request is deliberate, so each phrase can be taken at face value.",
    "Plain language serves best, and the part that answers the request should be easy to find.",
    "Each part of the request counts, including the ones that are easy to overlook.",
    "Words in the request keep their ordinary meaning unless the request itself defines them.",
)


def clarification(f: QuestionFacts) -> Parts:
    required = [pick(f, OPENINGS).format(ask=f.ask) + ("" if f.ask.endswith((".", "?", "!")) else ".")] \
        if f.ask else []
    if f.persona:
        required.append(f"Everything in the reply is said as {f.persona}, in that voice, without stepping out of "
                        f"the role to comment on it.")
    elif mode_of(f) not in ("edit", "review", "plan", "items") and "classification" not in kinds_of(f):
        # those tasks' own clarifications say what is wanted (a classification draws on general knowledge)
        required.append(pick(f, CATEGORY_CLARIFICATION.get(f.category, GENERIC_CLARIFICATION)))
    specific = []
    if f.conditions:
        specific.append(f'The request sets a condition for the whole reply: "{f.conditions[0]}"'
                        + ("" if f.conditions[0].endswith((".", "?", "!")) else "."))
    if f.count:
        specific.append(f'The number in "{f.count}" is exact: that many, no more and no fewer.')
    if f.questions >= 2:
        specific.append("The request holds more than one question, and each of them needs its own answer.")
    specific += own_texts(f, "L1")
    specific += [f'It also says: "{condition}"' + ("" if condition.endswith((".", "?", "!")) else ".")
                 for condition in f.conditions[1:]]
    if f.category == "coding" and not any(k in kinds_of(f) for k in ("python", "c++", "javascript", "website")):
        specific.append("No language is named, so any mainstream one will do.")
    if f.reader:
        specific.append(f"The request names its readers, {f.reader}, so vocabulary and detail should suit them.")
    if f.material and f.category in ("extraction", "reasoning", "writing", "coding"):
        specific.append("The material to work on is supplied with the request; the reply should rest on it.")
    return Parts(required, specific, [], rotated(f, L1_FILLERS, 1))


# ---------------------------------------------------------------------------------------------- L2
CATEGORY_STEPS: Dict[str, Sequence[str]] = {
    "writing": ("Before drafting, settle who will read the piece and the impression it should leave.",
                "Then choose the order of its parts so that each leads naturally into the next.",
                "Draft it in one pass, then reread it as that reader would and revise what does not serve that "
                "impression."),
    "roleplay": ("Before replying, recall how {persona} talks: the words, the attitude, the usual concerns.",
                 "Then work out the reply that {persona} would really give to what was said.",
                 "Finally, reread it and change anything that breaks the voice or leaves the scene."),
    "reasoning": ("Take the given facts one at a time and work out what each one allows and what it rules out.",
                  "Combine them only when each is clear, and test the conclusion against every fact before "
                  "settling on it.",
                  "Look twice at any word in the question that could change the obvious reading."),
    "math": ("Start from the values the question gives and the relation that links them to the unknown.",
             "Carry the calculation through one step at a time, keeping track of units and signs.",
             "Check the result a second way, for instance by substituting it back or by a rough estimate."),
    "coding": ("Settle the inputs, the output and the edge cases, such as an empty input or a single element, "
               "before writing the body.",
               "Choose the simplest approach that meets every stated requirement.",
               "Trace one small input through the code by hand to confirm that it does what it should."),
    "extraction": ("Read the supplied material once from start to end before taking anything from it.",
                   "Then pick out each requested item, checking it against the exact wording of the source.",
                   "Last, compare the result with the requested format, item by item."),
    "stem": ("Begin from the principle that governs the question, then follow the mechanism step by step.",
             "Tie each claim to something checkable: a quantity, a law or a well-known observation.",
             "Close by connecting the explanation back to exactly what was asked."),
    "humanities": ("Gather the concrete material first: names, periods, cases or works that bear on the question.",
                   "Arrange them around one clear line of argument, and give the strongest opposing view its due.",
                   "End with a judgement that follows from the examples rather than from general statements."),
}
GENERIC_STEPS = ("Begin by separating the parts of the request from each other.",
                 "Work on each part in turn, using only what is known or given.",
                 "Then compare the whole with the request once more and fix what does not fit.")
# tasks whose kind calls for other steps than their category's usual ones (an essay's steps do not fit a list of
# ideas, a grammar correction or a design): the first task type of the question that names a mode decides
MODE_STEPS: Dict[str, Sequence[str]] = {
    "edit": ("Read the whole text first, so that each change keeps the meaning of its sentence.",
             "Then go through it sentence by sentence and fix every error of grammar, spelling and agreement.",
             "Finally, read the corrected text once more as a whole."),
    "items": ("Collect more candidates than the request needs, then keep those that are most specific and most "
              "different from one another.",
              "Give each item the detail that makes it clear and usable.",
              "Check the set against the request: the kind of item, any number it names and the purpose it serves."),
    "design": ("Start from what the design must achieve and the conditions the question states.",
               "Then choose each component or step for the job it does, in the order they connect.",
               "Check the design against every condition, including what happens when something fails."),
    "review": ("Read the code once to understand what it is meant to compute.",
               "Then test it on a few inputs, edge cases among them, and compare what it returns with what it "
               "should return.",
               "Decide on the verdict only after those tests, naming the input that fails if one does."),
    "plan": ("Start from the aim and the time the request gives.",
             "Then lay out each part in order, with what happens in it and the time it takes.",
             "Check that the parts fit together and cover everything asked."),
}
_PROSE = ("writing", "humanities", "stem")
MODES = {  # task type -> (its mode, the categories whose usual steps that mode replaces)
    "correction": ("edit", (*_PROSE, "roleplay")), "translation": ("edit", (*_PROSE, "roleplay")),
    "bug": ("review", ("coding",)), "lesson plan": ("plan", _PROSE), "procedure": ("plan", _PROSE),
    "design": ("design", ("stem",)), "ideas": ("items", _PROSE), "recommendation": ("items", _PROSE),
    "principles": ("items", _PROSE), "etiquette": ("items", _PROSE), "headline": ("items", _PROSE),
    "count": ("items", ("humanities",)),
}
SHORT_CONDITION_WORDS = 14  # a condition L2 quotes again as a reminder
FOCUS = ("Keep every step aimed at what the request asks.",
         "At each step, check that the work still serves the request.",
         "Let each step bring the reply closer to what was asked.")
L2_FILLERS = (
    "If a step turns up a mistake, go back to the step where it began rather than patching the end.",
    "Settling the order of the parts before starting makes each of them easier to get right.",
    "Before the last step, compare the work so far with the request once more.",
    "Not every step fits every request; the ones that fit this request matter most.",
)


def guidance(f: QuestionFacts) -> Parts:
    persona = f.persona or "the character"
    mode = mode_of(f)
    steps = MODE_STEPS[mode] if mode else CATEGORY_STEPS.get(f.category, GENERIC_STEPS)
    steps = [s.format(persona=persona) for s in steps]
    specific = []
    if f.questions >= 2:
        specific.append("Take the questions in the order they are asked, finishing one before starting the next.")
    if f.count:
        specific.append(f'Choose all of the "{f.count}" first and check that they do not overlap, then develop each.')
    specific += own_texts(f, "L2")
    short = [c for c in f.conditions if len(c.split()) <= SHORT_CONDITION_WORDS]
    if short:  # a long one is quoted once, in L1
        specific.append(f'Keep the condition "{short[-1]}" in view at every step, not only at the end.')
    if f.reader:
        specific.append(f"At each step, ask whether {f.reader} would follow it without help.")
    if f.material and f.category in ("extraction", "reasoning", "coding", "writing"):
        specific.append("Go through the supplied material in order, so that nothing in it is overlooked.")
    return Parts([steps[0], pick(f, FOCUS, 2)], specific, list(steps[1:]), rotated(f, L2_FILLERS, 3))


# ---------------------------------------------------------------------------------------------- L3
INTROS = ("For comparison, here is a task of the same kind on a different subject, with an answer that handles it "
          "well.",
          "A similar task on another subject shows the standard to aim for.",
          "Here is an example of the same kind of task, on a different subject, answered well.")
BRIDGES = ("The request above is different; only the way the example works carries over.",
           "Nothing in the example is part of the answer here; only its standard carries over.",
           "The subject above differs, yet the request calls for the same care.")
L3_FILLERS = ("Its subject is unrelated on purpose, so that it shows a way of working and nothing more.",
              "Its names and values belong to the example alone.",
              "The example's answer is a standard to meet, not a text to copy.")


EXAMPLE_FRAME = "Task: Answer: That answer works because"  # the words around every example (worked_example)


def worked_example(f: QuestionFacts, example: Example) -> Parts:
    head = [f"{pick(f, INTROS, 5)}\nTask: {example.task}\nAnswer: {example.answer}\n",
            f"That answer works because {example.why}.", pick(f, BRIDGES, 6)]
    return Parts(head, [], [], rotated(f, L3_FILLERS, 7))


# ---------------------------------------------------------------------------------------------- P and controls
def padding_sentences(f: QuestionFacts, salt: int = 0, avoid=frozenset()) -> List[str]:
    """The padding sentences for this question, wording and level (`salt`), in the order they are taken."""
    from .addition_checks import content_words

    return pool_sentences(f"{f.question_id}:{f.text[:200]}:{f.variant}:{salt}", avoid, content_words)


def builder(name: str, facts: QuestionFacts, example: Optional[Example]) -> Parts:
    if name == "L1":
        return clarification(facts)
    if name == "L2":
        return guidance(facts)
    return worked_example(facts, example)
