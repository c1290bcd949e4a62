"""The checks on what a level adds to the level it builds on: the one home of each, used by the prompt audit
(on any prompt source) and by the llm generator (on each addition before it is accepted).

An addition must stay in its band (slmbench.levels), must not state a final value of the question's
reference answer (references.leaked), must not ask for visible extra output (the judge's conciseness would
then mark the answer down, and the level would measure that instead), and padding must not be labelled as
irrelevant (P would then stop testing padding: the model is told what to skip), must be off-topic (padding on
the question's subject is information, not length) and must read as prose (a list, a heading or a sentence
said twice is not the fluent paragraph P stands for).

And what no level may add (slmbench.levels.NO_LEVEL_MAY): an instruction on how long to answer, or one to hide,
skip or omit the reasoning (`length_instructions`, `suppressed_reasoning`); a clarification or guidance that
states a value the question does not contain (`numbers_not_in_question`); a quoted piece of the question that
ends inside a phrase or drops a number or condition of its sentence (`fragment_cuts`); a worked example that
another question's example already is, or mostly is (`example_overlap`). The question's own words are never
judged: only what a level adds. The patterns are written for English prompts, as the study's are.
"""

from __future__ import annotations

import math
import re
from typing import Dict, List, Mapping, Optional, Tuple

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


# -- what no level may add: a length instruction, an instruction to hide the reasoning --------------------------
_COUNT = (r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|fifty|a hundred|"
          r"a few|a couple of|a single|a handful of)")
_UNIT = r"(?:words?|sentences?|lines?|paragraphs?|bullet points?|bullets|tokens?|characters?|pages?)"
_REPLY = (r"(?:reply|replies|answer|answers|response|responses|explanation|explanations|version|output|text|one|note|"
          r"notes|message|messages|email|emails|letter|letters|summary|description|paragraph|post|essay)")
LENGTH_INSTRUCTION = [re.compile(pattern, re.I) for pattern in (
    r"\b(?:brief(?:ly|er|est)?|concise(?:ly|ness)?|succinct(?:ly|ness)?|terse(?:ly|ness)?|wordy|wordiness|verbose|"
    r"verbosity|long-winded)\b",
    r"\bto the point\b",
    rf"\b(?:short|shorter|shortest|long|longer|longest|lengthy|lengthier)\s+(?:\w+\s+)?{_REPLY}\b",
    r"\bkeep\s+(?:\w+\s+){0,2}(?:short|brief|compact|tight)\b",
    rf"\b(?:{_REPLY}|it|example|piece|email|post)\s+(?:is|are|should be|must be|stays?|can be|needs to be)\s+"
    rf"(?:\w+\s+)?(?:short|brief|compact)\b",
    r"\b(?:short|long) on purpose\b",
    rf"\b(?:in|within|under|at most|no more than|not more than|fewer than|less than|up to|not exceed(?:ing)?|"
    rf"limited to)\s+(?:about |roughly |around |only )?{_COUNT}(?:\s+(?:or|to)\s+{_COUNT})?\s+{_UNIT}\b",
    rf"\b{_COUNT}[- ]?(?:word|sentence|paragraph|page)s?[- ](?:reply|answer|response|limit|summary|text)\b",
    r"\b(?:\w+)-(?:word|sentence|paragraph|page)\b",
    r"\bword (?:limit|count)\b|\blength limit\b|\bhow long\b|"
    r"\blength of (?:the|a|your|its) (?:reply|answer|response)\b",
    rf"\b{_REPLY}(?:'s)? length\b",
    r"\b(?:in (?:great |full |more |much |some )?detail|at length|(?:highly |very )?detailed|exhaustive(?:ly)?|"
    r"elaborate(?:ly)?|expand on|as much detail)\b",
    r"\b(?:no|nothing) (?:more|longer) than (?:is )?(?:needed|necessary|asked|required)\b",
)]
_REASONING = (r"(?:explanations?|reasoning|working|workings|steps|derivations?|justifications?|thinking|"
              r"thought process|calculations?|commentary|intermediate \w+)")
SUPPRESSES_REASONING = [re.compile(pattern, re.I) for pattern in (
    r"\bonly (?:the |your |its |a |an )?(?:final |bare |actual |end )?(?:answer|result|value|number|code|output|"
    r"conclusion|verdict|solution)s?\b",
    r"\b(?:answer|result|value|code|solution|conclusion)s? (?:alone|only)\b",
    r"\bjust (?:give |state |write )?(?:the |your )?(?:final )?(?:answer|result|value|number|code|conclusion)s?\b",
    r"\bnothing (?:but|except|else but|other than|beyond|besides) (?:the |your )?(?:final )?(?:answer|result|value|"
    r"code|solution)\b",
    rf"\b(?:no|without(?: any)?|omit(?:ting)?|skip(?:ping)?|leave out|leaving out|drop(?:ping)?|hide|hiding|"
    rf"suppress(?:ing)?|keep back)\s+(?:the |your |any |all |its |their )?(?:\w+ )?{_REASONING}\b",
    r"\b(?:do not|don't|never|no need to|need not|needn't|without|not)\s+(?:\w+\s+)?(?:explain(?:ing)?|"
    r"justify(?:ing)?|show(?:ing)?|spell(?:ing)? out|writ(?:e|ing) out|walk(?:ing)? through)\b(?! (?:up|off|in)\b)",
    r"\b(?:think|work|reason|calculate|plan)\w*\b[^.;]{0,30}\b(?:silently|in your head|internally|privately|"
    r"to yourself)\b",
    rf"\b{_REASONING}\s+(?:are |is |need |needs )?(?:not |never )(?:be )?"
    rf"(?:shown|written|visible|needed|included|wanted)\b",
    r"\b(?:no|without(?: any)?|refrain from[^.;]{0,20}|avoid[^.;]{0,20})\s*(?:extraneous|extra|additional|unnecessary|"
    r"other|surrounding) (?:words|text|commentary|remarks|prose)\b",
)]


def _matches(patterns, addition: str) -> List[str]:
    found = []
    for pattern in patterns:
        found += [" ".join(m.group(0).split()) for m in pattern.finditer(addition)]
    return list(dict.fromkeys(found))


def length_instructions(addition: str) -> List[str]:
    """The phrases of an addition that tell the model how long to answer."""
    return _matches(LENGTH_INSTRUCTION, addition)


def suppressed_reasoning(addition: str) -> List[str]:
    """The phrases of an addition that tell the model to hide, skip or omit its reasoning (only the answer)."""
    return _matches(SUPPRESSES_REASONING, addition)


# -- values a clarification or guidance may state: the question's own ------------------------------------------------
NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000",
                     "million": "1000000", "billion": "1000000000", "dozen": "12"})
SPELLED_VALUES = [w for w in NUMBER_WORDS if w not in ("zero", "one")]  # "one" is mostly a pronoun ("the one before")
NUMERAL = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:/\d+)?(?![\w])")
SPELLED = re.compile(rf"\b(?:{'|'.join(SPELLED_VALUES)})\b", re.I)


def values_in(text: str, spelled: bool = True) -> Dict[str, str]:
    """value (digits) -> how the text writes it: numerals, and spelled numbers from two up (`spelled`)."""
    found = {m.group(0).replace(",", ""): m.group(0) for m in NUMERAL.finditer(text)}
    if spelled:
        found.update({NUMBER_WORDS[m.group(0).lower()]: m.group(0) for m in SPELLED.finditer(text)})
    return found


def numbers_not_in_question(level: str, question: str, addition: str) -> List[str]:
    """The values a clarification or guidance states that its question does not contain (a spelled number
    matches its numerals and back: "five" is in a question saying 5)."""
    if design.kind_of(level) not in design.WITH_NUMBERS_OF_THE_QUESTION:
        return []
    own = set(values_in(question)) | {NUMBER_WORDS.get(w.lower()) for w in re.findall(r"[A-Za-z]+", question)}
    return [written for value, written in values_in(addition).items() if value not in own]


# -- quoted pieces of the question ------------------------------------------------------------------------------------
QUOTE = re.compile(r"[\"“]([^\"“”]{2,}?)[\"”]")
ELLIPSIS = ("...", "…")
# a piece ending on one of these stops inside its phrase ("... and how does")
DANGLING = frozenset("""a an the to of about for in on with and or but nor that from as by at your its their his her
    into is are was were be been being do does did can could will would should shall may might must has have had
    over between than per under within when if what which who whom whose how why where while whether we you i they
    he she my our this these those such very more most less least not no so because since although though""".split())
# words in the rest of the sentence that make what was left out a condition ("... using recursion")
DROPPED_CONDITION = re.compile(r"\b(?:at least|at most|no more than|not more than|fewer than|less than|more than|only|"
                               r"without|except|exactly|using|must(?!-)|never|not|in (?:json|csv|html|xml|yaml|a "
                               r"table)|per|with (?:\w+ )?complexity|o\()", re.I)


def _plain(text: str) -> str:
    """Lower case, no quotation marks, single spaces (line breaks kept: they end a sentence)."""
    text = re.sub(r"[\"“”‘’']", "", text.lower())
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def _rest_of_sentence(text: str) -> str:
    """`text` up to the end of its sentence: . ? ! before a space or the end, a colon at a line's end, a line break."""
    end = re.search(r"[.?!](?=\s|$)|:\s*\n|\n", text)
    return text[:end.start()] if end else text


def _shown(rest: str, limit: int = 60) -> str:
    flat = " ".join(rest.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " ..."


def fragment_cuts(question: str, addition: str) -> List[str]:
    """The quoted pieces of the question in an addition that end inside a phrase, in an ellipsis, or before the
    rest of their sentence states a number or a condition (each: the piece, then why)."""
    plain_question = _plain(question)
    cuts = []
    for quote in QUOTE.findall(addition):
        piece = _plain(quote).replace("\n", " ").strip()
        core = piece.rstrip(" .,;:!?…").rstrip(".")
        if len(core.split()) < 2:  # a quoted word is a term, not a piece of the question
            continue
        at = plain_question.replace("\n", " ").find(core)
        if at < 0:
            continue  # not the question's words (an example's, a title's)
        rest = _rest_of_sentence(plain_question[at + len(core):])
        last = core.split()[-1]
        if piece.endswith(ELLIPSIS):
            cuts.append(f'"{quote}" (cut short with an ellipsis)')
        elif rest.strip() and last in DANGLING:
            cuts.append(f'"{quote}" (ends inside a phrase, at "{last}")')
        elif re.match(r":\s*\S", rest):
            cuts.append(f'"{quote}" (ends before what its colon introduces: "{_shown(rest[1:], 30)}")')
        elif re.match(r"\s*,?\s*(?:and|or|nor|as well as|etc)\b", rest):
            cuts.append(f'"{quote}" (ends inside a list, before "{_shown(rest, 30)}")')
        elif rest.strip(" ,;") and (dropped := [v for v in values_in(rest) if v not in values_in(core)]):
            cuts.append(f'"{quote}" (drops "{values_in(rest)[dropped[0]]}", stated in "...{_shown(rest)}")')
        elif rest.strip(" ,;") and DROPPED_CONDITION.search(rest):
            cuts.append(f'"{quote}" (drops the condition in "...{_shown(rest)}")')
    return cuts


# -- worked examples: one per question ------------------------------------------------------------------------------
FRAMING_SHARE = 0.25
REUSE_SHARE = 0.5  # an example sharing at least this share of its content words with another is that example again


def example_overlap(words: set, other: set) -> float:
    """The share of the smaller example's content words that the other example has too (1.0: the same)."""
    if not words or not other:
        return 0.0
    return len(words & other) / min(len(words), len(other))


def reused_example(addition: str, others: Mapping[int, str]) -> List[int]:
    """The questions (of `others`: question -> its accepted example) whose example this addition repeats."""
    words = content_words(addition)
    return [qid for qid, text in others.items() if example_overlap(words, content_words(text)) >= REUSE_SHARE]


def template_framing_words() -> set:
    """The content words of the template writer's own framing of an example (its intros, bridges and fillers):
    they are in every example it writes, whatever the subject, so they never make two examples alike."""
    from . import templates  # here, not at the top: templates imports this module's checks

    texts = (*templates.INTROS, *templates.BRIDGES, *templates.L3_FILLERS, templates.EXAMPLE_FRAME)
    return set().union(*(content_words(text) for text in texts))


def reused_examples(examples: Mapping[tuple, Tuple[int, str]]) -> Dict[tuple, List[int]]:
    """For a sheet's worked examples (key -> (question, text)), the other questions whose example each repeats.
    Words in the examples of a quarter of the questions (at least 3) are the sheet's framing ("here is a similar
    task"), not an example's content, and are left out first; a question's own variants never count."""
    words = {key: content_words(text) for key, (_, text) in examples.items()}
    by_question: Dict[int, set] = {}
    for key, (qid, _) in examples.items():
        by_question.setdefault(qid, set()).update(words[key])
    frequency: Dict[str, int] = {}
    for found in by_question.values():
        for word in found:
            frequency[word] = frequency.get(word, 0) + 1
    framing = {w for w, n in frequency.items() if n >= max(3, math.ceil(FRAMING_SHARE * len(by_question)))}
    framing |= template_framing_words()  # a sheet of two questions has too few examples to find these itself
    own = {key: found - framing for key, found in words.items()}
    reused: Dict[tuple, List[int]] = {key: [] for key in examples}
    keys = list(examples)
    for i, key in enumerate(keys):
        for other in keys[i + 1:]:
            qid, other_qid = examples[key][0], examples[other][0]
            if qid != other_qid and example_overlap(own[key], own[other]) >= REUSE_SHARE:
                reused[key].append(other_qid)
                reused[other].append(qid)
    return {key: sorted(set(qids)) for key, qids in reused.items()}


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
                      values: List[str], other_examples: Optional[Mapping[int, str]] = None) -> List[str]:
    """Why an addition cannot be accepted (empty: it can). `lengths`: the tokens of the question's levels so
    far and of `level` with this addition; `question`: L0; `values`: the final values of its references;
    `other_examples`: other questions' accepted worked examples (question -> text), which an example must not
    repeat."""
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
        problems.append(f"it asks for visible extra output ('{visible[0]}'): ask for nothing besides the answer "
                        f"the question wants")
    length = length_instructions(addition)
    if length:
        problems.append(f"it tells the reader how long to answer ('{length[0]}'): no addition may ask for a length, "
                        f"not even one the question states")
    hidden = suppressed_reasoning(addition)
    if hidden:
        problems.append(f"it tells the reader to hide or omit its reasoning ('{hidden[0]}'): no addition may say what "
                        f"to leave out of the answer")
    invented = numbers_not_in_question(level, question, addition)
    if invented:
        problems.append(f"it states values the question does not contain ({', '.join(invented)}): a "
                        f"{design.kind_of(level)} may use only the question's own numbers")
    cuts = fragment_cuts(question, addition)
    if cuts:
        problems.append(f"it quotes the question cut short: {cuts[0]}; quote whole clauses or none")
    reused = reused_example(addition, other_examples or {}) if design.kind_of(level) == "example" else []
    if reused:
        problems.append(f"its worked example is the one already written for question {reused[0]}: write an example "
                        f"on another subject")
    labelled = labelled_padding(level, addition)
    if labelled:
        problems.append(f"it labels the padding as irrelevant ('{labelled[0]}'): the paragraph must read as plain "
                        f"text with no comment on its relevance")
    problems += [f"{flaw}: padding must be one fluent paragraph on an unrelated subject"
                 for flaw in padding_flaws(level, question, addition)]
    return problems
