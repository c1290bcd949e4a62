"""What a template can read from a question's own text: what it asks for, its conditions, its format, the
role it sets, the material it supplies. The template texts (templates.py) are built from these facts, so
each addition speaks about its own question; nothing here knows (or could leak) the answer.

Every phrase taken from the question is short (a few words) and cut at a clause boundary, so the
additions stay inside their token bands whatever the question's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional

NUMBER_WORDS = "two|three|four|five|six|seven|eight|nine|ten"
CONDITION = re.compile(r"\b(concise|short|brief|fewer than|less than|at most|no more than|refrain|only|don'?t|"
                       r"do not|without|must(?!-)|format|output|return|keep|separate line|one line|per line|"
                       r"scale of|bypass|avoid|in json|as a csv|sort)\b", re.I)
FORMATS = [  # (pattern, name used in the texts)
    (r"\bjson\b", "JSON"), (r"\bcsv\b", "CSV"), (r"\bhtml\b", "HTML"), (r"\bpython\b", "Python"),
    (r"\bc\+\+", "C++"), (r"\bjavascript\b", "JavaScript"), (r"\bsql\b", "SQL"), (r"\b(?:in|as) a table\b", "a table"),
]
PERSONA = re.compile(r"(?:pretend yourself to be|imagine yourself as|picture yourself as|suppose you are|"
                     r"role of|persona of|act as|now you are|you are|embrace the role of)\s+(?P<p>[^.,;:?!\n]+)", re.I)
PERSONA_CUT = re.compile(r"\s+(?:tasked|who|in all|in a|on a|throughout|as we|minding|with|from|,)\b.*$", re.I)
AUDIENCE = re.compile(r"\b(?:for|to)\s+(?P<a>(?:your |an? |the )?(?:[\w-]+ ){0,3}?(?:children|students|readers?|"
                      r"customers|friend|supervisor|filmmakers|beginners|audience|class|neighbour|sailor|"
                      r"visitors|people|residents|reader))\b", re.I)
COUNT = re.compile(rf"\b(?:list|propose|suggest|name|give|provide|describe|share|outline|identify|offer)\s+"
                   rf"(?:a |an |the |me )?(?P<n>{NUMBER_WORDS}|\d{{1,2}})\s+(?P<what>(?:[\w-]+\s+){{0,2}}[\w-]+)", re.I)
DELIVERABLES = [  # (pattern, kind): templates.KIND_TEXTS says what each kind needs
    (r"\bemail\b", "email"), (r"\bblog post\b", "blog post"), (r"\boutline\b", "outline"),
    (r"\bshort story\b|\bstory\b", "story"), (r"\bpoe(?:m|ts?)\b|\brhyme", "verse"), (r"\bheadline", "headline"),
    (r"\blesson plan\b", "lesson plan"), (r"\bparagraph\b", "paragraph"), (r"\bscale of\b|\brating", "rating"),
    (r"\bprove\b|\bproof", "proof"), (r"\bworkflow\b|\bstep-by-step\b", "procedure"),
    (r"\btranslat", "translation"), (r"\bexamples?\b", "examples"), (r"\bcompar|\bdifferences?\b", "comparison"),
]
ASKED_QUANTITY = re.compile(r"(?:what(?:'s| is| was| will be)\s+(?P<a>the [^?.\n]+))|(?:find (?P<b>the [^.?\n]+))|"
                            r"(?:how many (?P<c>[^?.\n]+))|(?:express (?P<d>[^.?\n]+))", re.I)
BUILD = re.compile(r"\b(?:write|implement|develop|create|compose|draft|craft|construct|design|edit|describe|"
                   r"explain|evaluate|extract|identify|analyze|analyse|provide|discuss|suggest|share|outline)\s+"
                   r"(?P<w>[^.,;:?!\n]+)", re.I)
CLAUSE_CUT = re.compile(r"\s+(?:that|which|when|where|while|so that|using|with|by|including|highlighting|"
                        r"incorporating|based)\b.*$", re.I)


MAX_PHRASE_CHARS = 90  # also for text without spaces (Chinese, code), where a "word" can be a whole sentence
DANGLING = {"a", "an", "the", "to", "of", "about", "for", "in", "on", "with", "and", "or", "that", "from", "as", "by",
            "at", "your", "its", "their", "his", "her", "into", "is", "are", "over", "between", "than", "per", "under",
            "within", "when", "if", "what", "which", "how"}


def words(text: str, limit: int) -> str:
    """The first `limit` words of text (a phrase taken from a question, kept short), never ending on a word
    that leaves the phrase hanging ("a trip to")."""
    kept = text.split()[:limit]
    while len(kept) > 1 and (kept[-1].lower().strip(",;:") in DANGLING or len(" ".join(kept)) > MAX_PHRASE_CHARS):
        kept.pop()
    phrase = " ".join(kept).strip(" ,;:-")
    return phrase if len(phrase) <= MAX_PHRASE_CHARS else phrase[:MAX_PHRASE_CHARS].rstrip() + "..."


MATERIAL_LINE = re.compile(r"^\s*(?:\d+[.)]|[a-z][.)]|[-*•])\s")


def instruction_text(text: str) -> str:
    """The question without the material it supplies (enumerated items, code blocks, the line after a colon),
    so that questions asked inside a passage are not counted as the question's own."""
    kept, in_code, after_colon = [], False, False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        if not (in_code or after_colon or MATERIAL_LINE.match(line)):
            kept.append(line)
        after_colon = line.rstrip().endswith(":")
    return "\n".join(kept) or text


def sentences(text: str) -> List[str]:
    flat = " ".join(text.split())
    return [s.strip() for s in re.split(r"(?<=[.?!])\s+(?=[A-Z\"“'(])", flat) if s.strip()]


@dataclass
class QuestionFacts:
    question_id: int
    category: str
    text: str
    ask: str  # what the question asks for, in its own words (a short phrase)
    conditions: List[str] = field(default_factory=list)  # its own sentences that set conditions (short ones)
    questions: int = 0  # how many direct questions it asks
    formats: List[str] = field(default_factory=list)
    count: Optional[str] = None  # "five award-winning documentary"
    persona: Optional[str] = None
    audience: Optional[str] = None
    quantity: Optional[str] = None  # the value a calculation asks for
    material: bool = False  # it supplies a text, data or code to work on
    numbers: List[str] = field(default_factory=list)  # the values it gives
    variant: int = 0  # another wording of the same levels (other openings, fillers, example, padding)
    kinds: List[str] = field(default_factory=list)  # the kinds of text it asks for (DELIVERABLES)

    @property
    def seed(self) -> int:
        """A stable number for choosing among wordings (not Python's hash: that changes per process)."""
        return sum((i + 1) * ord(ch) for i, ch in enumerate(f"{self.question_id}:{self.text[:80]}")) \
            + 7919 * self.variant


def read_facts(question_id: int, category: str, text: str) -> QuestionFacts:
    flat = " ".join(text.split())
    own = " ".join(instruction_text(text).split())
    parts = sentences(text.split("\n")[0]) or [flat]
    asked = [s for s in sentences(own) if s.endswith("?")]
    build = BUILD.search(own)
    if asked:  # a direct question says best what is asked
        ask = asked[0].rstrip("?")
    elif build and len(CLAUSE_CUT.sub("", build.group(0)).split()) >= 4:
        ask = CLAUSE_CUT.sub("", build.group(0))
    else:
        ask = parts[0].rstrip(".!")
    facts = QuestionFacts(question_id, category, text, words(re.sub("[\"“”]", "", ask), 12))
    facts.conditions = [s for s in sentences(text) if CONDITION.search(s) and 3 <= len(s.split()) <= 22
                        and facts.ask not in s and not re.search(r"\d\.$", s)][:2]
    facts.questions = own.count("?")
    facts.formats = [name for pattern, name in FORMATS if re.search(pattern, flat, re.I)]
    if (m := COUNT.search(flat)):
        facts.count = words(f"{m.group('n')} {m.group('what')}", 5)
    if category == "roleplay" and (m := PERSONA.search(flat)):
        facts.persona = words(re.sub("[\"“”]", "", PERSONA_CUT.sub("", m.group("p"))), 6)
    if (m := AUDIENCE.search(flat)):
        audience = m.group("a")
        last_article = max(audience.rfind(f" {a} ") for a in ("your", "the", "a", "an"))
        facts.audience = words(audience[last_article + 1:] if last_article > 0 else audience, 6)
    if (m := ASKED_QUANTITY.search(flat)):
        facts.quantity = words(next(g for g in m.groups() if g), 10)
    facts.material = "```" in text or bool(re.search(r"\b(following|below|given|these|this)\b[^\n]*(:|\n)", text)) \
        or text.count("\n") >= 2
    facts.kinds = [kind for pattern, kind in DELIVERABLES if re.search(pattern, own, re.I)][:2]
    facts.numbers = list(dict.fromkeys(re.findall(r"(?<![\w.])\$?\d+(?:[.,]\d+)?%?", flat)))[:4]
    return facts
