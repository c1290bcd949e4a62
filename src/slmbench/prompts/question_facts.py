"""What a template can read from a question's own text: what it asks for, its conditions, its format, the
role it sets, the reader it names, the material it supplies. The template texts (templates.py) are built from
these facts, so each addition speaks about its own question; nothing here knows (or could leak) the answer.

What is quoted from the question is a whole clause of it (`quotable`): never cut inside a phrase or before a
number or condition of its sentence (addition_checks.fragment_cuts says so), never longer than a reader takes in
at once, and never a length instruction or one to hide the reasoning, which stay in the question's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional

NUMBER_WORDS = "two|three|four|five|six|seven|eight|nine|ten"
CONDITION = re.compile(r"\b(concise|short|brief|fewer than|less than|at most|no more than|refrain|only|don'?t|"
                       r"do not|without|must(?!-)|format|output|return|keep|separate line|one line|per line|"
                       r"scale of|bypass|avoid|in json|as a csv|sort|specifically|address|use|include|make sure)\b",
                       re.I)
FORMATS = [  # (pattern, name used in the texts)
    (r"\bjson\b", "JSON"), (r"\bcsv\b", "CSV"), (r"\bhtml\b", "HTML"), (r"\bpython\b", "Python"),
    (r"\bc\+\+", "C++"), (r"\bjavascript\b", "JavaScript"), (r"\bsql\b", "SQL"), (r"\b(?:in|as) a table\b", "a table"),
]
PERSONA = re.compile(r"(?:pretend yourself to be|imagine yourself as|picture yourself as|suppose you are|"
                     r"role of|persona of|act as|now you are|you are|embrace the role of)\s+(?P<p>[^.,;:?!\n]+)", re.I)
PERSONA_CUT = re.compile(r"\s+(?:tasked|who|in all|in a|on a|throughout|as we|minding|with|from|,)\b.*$", re.I)
COUNT = re.compile(rf"\b(?:list|propose|suggest|name|give|provide|describe|share|outline|identify|offer)\s+"
                   rf"(?:a |an |the |me )?(?P<n>{NUMBER_WORDS}|\d{{1,2}})\s+(?P<what>(?:[\w-]+\s+){{0,2}}[\w-]+)", re.I)
DELIVERABLES = [  # (pattern, kind): templates.KIND_TEXTS says what each kind needs
    (r"\bemail\b", "email"), (r"\bblog post\b", "blog post"), (r"\boutline\b", "outline"),
    (r"\bshort story\b|\bstory\b", "story"), (r"\bpoe(?:m|ts?)\b|\brhyme", "verse"), (r"\bheadline", "headline"),
    (r"\blesson plan\b", "lesson plan"), (r"\bparagraph\b", "paragraph"), (r"\bscale of\b|\brating", "rating"),
    (r"\bprove\b|\bproof", "proof"), (r"\bworkflow\b|\bstep-by-step\b", "procedure"),
    (r"\btranslat", "translation"), (r"\bexamples?\b", "examples"), (r"\bcompar|\bdifferences?\b", "comparison"),
]
BUILD = re.compile(r"\b(?:write|implement|develop|create|compose|draft|craft|construct|design|edit|describe|"
                   r"explain|evaluate|extract|identify|analyze|analyse|provide|discuss|suggest|share|outline|prove|"
                   r"assist|help|translate|correct|count|list|name|find|solve|calculate)\s+"
                   r"(?P<w>[^.,;:?!\n]+)", re.I)
READER = re.compile(r"\bso that (?P<r>(?:[\w-]+ ){1,6}?)can understand\b|\bfor (?P<s>(?:aspiring |young |new )?"
                    r"(?:readers|beginners|students|filmmakers|customers|non-experts|laypeople))\b", re.I)


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


MAX_QUOTE_WORDS = 40  # a quoted piece of the question stays a clause a reader takes in at once
MAX_QUOTE_CHARS = 260
MAX_CONDITIONS = 3  # quoted in L1; more would crowd out its other sentences
LABEL_LINE = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){0,2}:\s+\S")  # "Duration: 3 class periods", "Grade level: 9-10"
# a question or request quoted inside the request: "What is your opinion on hand dryers?", a role-play's first request
INNER_QUESTION = re.compile(r"[\"“]([^\"“”]{6,200}\?)\s*[\"”]?")
INNER_REQUEST = re.compile(r"\b(?:request|question|task)(?: is)?\s*:?\s*[\"“]([^\"“”]{6,200})[\"”]", re.I)
OPENING = re.compile(r"^(?:to begin|to start|let'?s start|let'?s kick|my first|our first|first,)", re.I)
QUOTE_MARKS = re.compile(r"[\"“”]")
ASKING_WORD = re.compile(r"^(?:why|how|what|which|who|whom|where|when|whether)\b", re.I)


def unquoted(text: str) -> str:
    """One line, its double quotation marks made single (so that the piece can itself be quoted)."""
    return " ".join(QUOTE_MARKS.sub("'", text).split())


def quotable(question: str, text: str) -> Optional[str]:
    """`text` (a sentence of the question) as a piece an addition may quote: with no quotation marks inside, not
    longer than MAX_QUOTE_WORDS (else its longest leading clauses that are), never cut before a number or a
    condition of its sentence, and never holding a length instruction or one to hide the reasoning (those stay
    in the question's own words: no level says them again). None when no such piece exists."""
    from .addition_checks import fragment_cuts, length_instructions, suppressed_reasoning

    sentence = unquoted(text)
    if length_instructions(sentence) or suppressed_reasoning(sentence):
        return None
    clauses = re.split(r"(?<=[,;])\s+", sentence)
    for n in range(len(clauses), 0, -1):
        piece = " ".join(clauses[:n]).rstrip(",;: ")
        if len(piece.split()) <= MAX_QUOTE_WORDS and len(piece) <= MAX_QUOTE_CHARS \
                and not fragment_cuts(question, f'"{piece}"'):
            return piece if len(piece.split()) >= 3 else None
    return None


@dataclass
class QuestionFacts:
    question_id: int
    category: str
    text: str
    ask: Optional[str]  # what the question asks for, a whole clause of its own words (None: none quotable)
    conditions: List[str] = field(default_factory=list)  # its own sentences that set conditions, whole
    questions: int = 0  # how many direct questions it asks
    formats: List[str] = field(default_factory=list)
    count: Optional[str] = None  # "five award-winning documentary films"
    persona: Optional[str] = None
    reader: Optional[str] = None  # the reader the question itself names ("customers without a technical background")
    material: bool = False  # it supplies a text, data or code to work on
    variant: int = 0  # another wording of the same levels (other openings, fillers, padding)
    kinds: List[str] = field(default_factory=list)  # the kinds of text it asks for (DELIVERABLES)
    instruction: str = ""  # the question without the material it supplies

    @property
    def seed(self) -> int:
        """A stable number for choosing among wordings (not Python's hash: that changes per process)."""
        return sum((i + 1) * ord(ch) for i, ch in enumerate(f"{self.question_id}:{self.text[:80]}")) \
            + 7919 * self.variant


def latin(text: str) -> bool:
    """Mostly Latin letters: a request's words, not the foreign text it hands over to translate."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(ch.isascii() for ch in letters) >= 0.8 * len(letters)


def own_sentences(own_text: str) -> List[str]:
    """The sentences of the question's own text, line by line, a label ("Question:") split off its sentence."""
    said = []
    for line in own_text.splitlines():
        for sentence in sentences(line):
            parts = [part for part in re.split(r"(?<=:)\s+(?=[A-Z])", sentence) if part.strip()]
            said += parts + ([sentence] if len(parts) > 1 else [])  # the whole too: a colon may introduce its point
    return said


def ask_of(text: str, own_text: str) -> Optional[str]:
    """The clause that says best what is asked: a question or request quoted inside the request (a role-play's
    first one), else a sentence that opens the task ("To begin, ..."), else its first direct question, else its
    first instruction (a sentence with a verb of making or explaining), else its first sentence; as a quotable
    piece of the question."""
    own = " ".join(own_text.split())
    said = own_sentences(own_text)
    candidates = [m.group(1) for m in INNER_QUESTION.finditer(own)]
    candidates += [m.group(1) for m in INNER_REQUEST.finditer(own) if len(re.findall(r"[A-Za-z]{2,}", m.group(1))) >= 3]
    candidates += [s for s in said if OPENING.match(s)] + [s for s in said if unquoted(s).endswith("?")]
    candidates += [s for s in said if BUILD.search(s)] + said[:1]
    for candidate in candidates:
        piece = quotable(text, candidate)
        if piece and latin(piece):
            return piece
    from .addition_checks import length_instructions

    for candidate in candidates:  # a sentence whose own words ask for a length: the question it holds after that
        found = length_instructions(unquoted(candidate))
        if found:
            tail = unquoted(candidate).split(found[-1], 1)[-1].strip(" ,;:")
            if ASKING_WORD.match(tail) and len(tail.split()) >= 4 and (piece := quotable(text, tail)):
                return piece
    return None


def read_facts(question_id: int, category: str, text: str) -> QuestionFacts:
    flat = " ".join(text.split())
    own_text = instruction_text(text)
    own = " ".join(own_text.split())
    facts = QuestionFacts(question_id, category, text, ask_of(text, own_text), instruction=own)
    said = own_sentences(own_text) + [line.strip() for line in text.splitlines()]
    stated = [s for s in said if CONDITION.search(s) or READER.search(s) or LABEL_LINE.match(s)]
    conditions = []
    for sentence in stated:
        piece = quotable(text, sentence)
        if piece and (not facts.ask or (piece not in facts.ask and facts.ask not in piece)) \
                and piece not in conditions:
            conditions.append(piece)
    facts.conditions = conditions[:MAX_CONDITIONS]
    facts.questions = own.count("?")
    facts.formats = [name for pattern, name in FORMATS if re.search(pattern, flat, re.I)]
    if (m := COUNT.search(own)):
        what = m.group("what").split()
        cut = next((i for i, w in enumerate(what) if w.lower() in DANGLING), len(what))  # "two effects the ..."
        count = words(" ".join([m.group("n"), *what[:cut]]), 5) if cut else None
        from .addition_checks import fragment_cuts

        facts.count = count if count and not fragment_cuts(text, f'"{count}"') else None
    if category == "roleplay" and (m := PERSONA.search(flat)):
        facts.persona = words(unquoted(PERSONA_CUT.sub("", m.group("p"))), 6)
    if (m := READER.search(own)):
        facts.reader = " ".join((m.group("r") or m.group("s")).split())
    facts.material = "```" in text or bool(re.search(r"\b(following|below|given|these|this)\b[^\n]*(:|\n)", text)) \
        or text.count("\n") >= 2
    facts.kinds = [kind for pattern, kind in DELIVERABLES if re.search(pattern, own, re.I)][:2]
    return facts
