"""The kinds of task a question can be, read from its own words, with what each kind needs (a clarification
for L1) and how to approach it (guidance for L2), written for this project. The same names tag the worked
examples (example_pool.py), so that a question's example is a task of its own kind.

Hand-written patterns rather than a classifier: the texts are few, must be exactly right (no length, no "only
the answer", no value the question does not give: slmbench.levels.NO_LEVEL_MAY), and each is read by a person
in the prompt review, so a plain table that says when each sentence applies is the clearest form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence


@dataclass(frozen=True)
class TaskType:
    name: str
    pattern: re.Pattern
    clarification: Optional[str] = None  # L1: what this kind of task needs
    guidance: Optional[str] = None  # L2: how to approach it
    categories: Optional[Sequence[str]] = None  # only for questions of these categories (None: any)


def task(name: str, pattern: str, clarification: Optional[str] = None, guidance: Optional[str] = None,
         categories: Optional[Sequence[str]] = None) -> TaskType:
    return TaskType(name, re.compile(pattern, re.I | re.M), clarification, guidance, categories)


TASK_TYPES: Sequence[TaskType] = (
    # kinds of text
    task("note", r"\bnote\b", "A note is addressed to one person and says plainly what is asked of them.",
         "Start with the request itself, then give the details the reader needs to act on it, then thank them.",
         categories=("writing",)),
    task("email", r"\bemail\b", "An email reads best with its purpose in its first lines and a courteous close.",
         "Put the main point of the email first, then the details that support it, then the close."),
    task("persuasion", r"\bpersua|\bconvinc",
         "A persuasive text argues toward one decision and takes the reader's likely objections seriously.",
         "Gather the reader's likely objections first, then answer each with a reason that matters to that reader."),
    task("objections", r"\bobjection"),
    task("blog post", r"\bblog\b",
         "A blog post speaks to its reader directly and carries them along with a title and sections.",
         "Open with something that catches the reader, move through the sections in a natural order, and end on a "
         "line that stays with them."),
    task("outline", r"\boutline\b", "An outline is a skeleton of headings and key points, not finished prose.",
         "Fix the main headings first, then give each its key points in order."),
    task("story", r"\bstor(?:y|ies)\b", "A story needs a situation, a change and an ending that pays off its opening.",
         "Decide on the turn of the story before the first line, so that the opening can point toward it."),
    task("opening sentence", r"\bbeginning with the sentence|\bbegins? with the sentence",
         "The given sentence is the story's first line, word for word."),
    task("opening", r"\bopening\b"),
    task("paragraph", r"\b(?:write|craft|compose|descriptive|opening)\b[^.\n]*\bparagraph",
         "A paragraph is one block of prose built around a single controlling idea.",
         "Choose the idea that holds the paragraph together, then order the details around it."),
    task("description", r"\bdescriptive\b|\bdescribe an? (?:\w+ ){0,3}(?:character|scene|place|person|setting)",
         "A description shows its subject through concrete details that a reader can see, hear and feel.",
         "Choose the details that make the subject unlike any other, then order them so that the picture builds."),
    task("sensory", r"\bsensory\b|\bimagery\b|\bsmells\b"),
    task("verse", r"\bpoe(?:m|ts?)\b|\brhym",
         "The form is verse: line breaks, rhythm and any rhyme asked for are part of the answer.",
         "Choose the shape of the lines and the rhyme first, then fit the content into them line by line."),
    task("headline", r"\bheadline", "A headline is specific, and it promises only what the article delivers.",
         "Try several wordings and keep those that are both catchy and accurate."),
    task("options", r"\boptions\b"),
    task("correction", r"\bcorrect(?:ing|ions?)?\b|\bgrammatical\b|\bproofread",
         "The reply is the corrected text itself: every error fixed, and the meaning kept as it was.",
         "Go through the text one sentence at a time, fixing grammar, tense and agreement, then read the whole "
         "once more."),
    task("lesson plan", r"\blesson plan\b",
         "A lesson plan gives objectives, timing and activities that a teacher could follow as written.",
         "Lay out the time of each session first, then fit the activities and materials into it."),
    task("rating", r"\bscale of\b|\bratings?\b", "Each rating uses exactly the scale the request defines.",
         "Judge each item against the ends of the scale before deciding on its number."),
    task("proof", r"\bprove\b|\bproofs?\b", "A proof must be valid: every step follows from what came before it.",
         "Choose the line of proof first, then make sure that no step relies on what is to be shown."),
    task("procedure", r"\bworkflow\b|\bstep-by-step\b",
         "The steps should be concrete and in the order in which they would be carried out.",
         "Fix the sequence of steps first, then work out what each one involves.",
         categories=("writing", "stem", "humanities", "extraction")),
    task("translation", r"\btranslat",
         "The reply is the improved text itself, faithful to the meaning of the original.",
         "Settle the meaning of the original first, then choose the wording that carries it best."),
    task("examples", r"\bexamples?\b",
         "The examples should be specific and real, each one showing the point it is given for.",
         "Pick examples that differ from one another, so that together they cover the point."),
    task("comparison", r"\bcompar|\bdifferences?\b|\bcontrast",
         "A comparison needs the same points of comparison applied to each side.",
         "Decide on the points of comparison first, then take each side through the same points."),
    # roles
    task("advice", r"\bremed|\bsuggestions?\b|\badvi[cs]|\brecommendations\b|\bresolv",
         "Advice given in the role has to fit the situation described, as that expert would give it.",
         "Work out what the situation needs before offering solutions, then give them in the order the person "
         "would act on them.", categories=("roleplay",)),
    task("diagnosis", r"\bdiagnos", None,
         "Consider the possible causes and what tells them apart before settling on one."),
    task("teaching", r"\bsimplif|\beasy-to-understand\b|\bwithout a technical\b|\bhelp understanding\b",
         "Terms are explained when they are first used, with everyday comparisons where they help.",
         "Start from something the listener already knows, then build the idea on it one step at a time."),
    task("instructions", r"\bhow to\b|\bguide\b|\bdirections\b",
         "Instructions given in the role have to be ones the listener can follow from where they are.",
         "Give the instructions in the order they are to be carried out, each one concrete.",
         categories=("roleplay",)),
    task("opinion", r"\bopinion\b|\bfavou?rite\b",
         "What is asked for is the character's own view, with the reasons that character would give."),
    task("no introduction", r"\bdon.t start with\b|\bbypass the introduction\b|\bwithout (?:an )?introduc"),
    task("feelings", r"\bhow do you feel\b|\bfeelings?\b",
         "The request asks how the character feels, so the reply speaks from inside that experience.",
         "Picture the scene from the character's position first, and let the feelings come from what happens to "
         "it."),
    # reasoning
    task("order", r"\bovert|\bolder\b|\btaller\b|\b(?:left|right) of\b|\bin the middle\b|\bbetween\b", None,
         "Picture the arrangement the facts describe, then apply each fact to it in turn.",
         categories=("reasoning",)),
    task("position", r"\bposition\b|\bovertak|\bplace\b", categories=("reasoning",)),
    task("relations", r"\bfather\b|\bmother\b|\bbrothers?\b|\bsisters?\b|\bdaughters?\b|\bsons?\b|\bgrand",
         "Family words keep their ordinary sense, and everyone the facts mention is counted.",
         "Place each person the facts name and the relations between them, then read the relation or the count "
         "asked for from that picture."),
    task("truth", r"\btrue\b[^.\n]*\bfalse\b|\buncertain\b",
         "A statement is true if the first statements force it, false if they rule it out, and uncertain if they "
         "do neither.",
         "Test the last statement against exactly what the earlier ones allow, and consider each verdict in turn."),
    task("statements", r"\bstatements?\b"),
    task("how many", r"\bhow many\b", categories=("reasoning",)),
    task("relationship", r"\brelationship\b", categories=("reasoning",)),
    task("odd one out", r"\bdoes not belong\b|\bodd one out\b",
         "The odd one out is the item that lacks the relation the others share.",
         "Find the relation that links most of the items, then check which item falls outside it."),
    task("direction", r"\b(?:east|west|north|south)\b",
         "Directions are compass directions, fixed by where the sun stands at the time the question gives.",
         "Fix where the sun is at that time of day, then turn with the person as the facts describe."),
    task("choice", r"^\s*[a-e]\)\s",
         "The answer is among the listed options, judged against the goal the question states.",
         "Weigh each option against that goal, and rule the options out one at a time."),
    task("reasons", r"\breasons?\b|\bwhat could\b",
         "Several explanations may fit: any that agrees with every stated fact counts.",
         "Consider different kinds of explanation that fit all the facts, not only the first that comes to mind."),
    task("puzzle", r"\bclues?\b|^\s*\*\s", None,
         "Apply the clues one at a time, ruling out the arrangements each one forbids, and check every clue at "
         "the end."),
    # math
    task("geometry", r"\btriangle|\bcircle\b|\brectangle|\bsquares?\b(?! root)|\bperimeter|\bvertices\b|\bangle\b|"
         r"\barea\b",
         "The figure is fixed by the values the question gives, and its measure is exact.",
         "Sketch the figure from the given values, then choose the formula that fits what is known.",
         categories=("math",)),
    task("coordinates", r"\(\s*-?\d+\s*,\s*-?\d+\s*\)", "The points are given as (x, y) coordinates."),
    task("probability", r"\bprobabilit|\bchance\b",
         "A probability is the share of equally likely outcomes that meet the condition, read exactly as stated.",
         "Count the equally likely outcomes and those that meet the condition, or count the complement when that "
         "is simpler."),
    task("overlap", r"\bboth\b|\bneither\b", "Those in both groups belong to each group at once.",
         "Add the groups, subtract what they share so that it is counted once, then take what is left.",
         categories=("math",)),
    task("dice", r"\bdic?e\b|\bcoins?\b"),
    task("backward", r"\bat the terminal\b|\bat the start\b|\boriginally\b|\binitially\b|\bgot on\b", None,
         "Work backward from the final count, undoing each change in reverse order, then check by running the "
         "story forward."),
    task("algebra", r"\bexpress\b|\bsolve\b|[a-z]\s*[+*]\s*[a-z]\s*=",
         "The result is an expression in the letters the question names, as simple as it can be made.",
         "Look for an identity that links what is known to what is asked, then simplify step by step."),
    task("inequality", r"[<>]|\binequalit",
         "The solution of an inequality is a range, and its ends count only where the inequality allows equality.",
         "Turn the inequality into the range of values it allows, then count or read off what is asked."),
    task("remainder", r"\bremainder\b", "A remainder is what is left after dividing, smaller than the divisor.",
         "Write the number in the form the division gives it, then carry that form through the question's "
         "operation."),
    task("total", r"\btotal (?:amount|cost|price|sum|spent)\b|\baltogether\b|\bin total\b",
         "The total combines every amount the question gives, each counted once.",
         "Work out each amount in the order the question gives it, then combine them and check the sum.",
         categories=("math",)),
    task("money", r"\$|\bcost\b|\bprice|\binvest"),
    task("fraction", r"\bhalf\b|\ba third\b|\ba quarter\b", categories=("math",)),
    task("purchases", r"\bbought\b|\bpurchas", categories=("math",)),
    task("evaluate", r"\bf\(\w\)|\bvalue of\b", None,
         "Substitute the value, then work through powers, products and sums in that order."),
    task("speed", r"\bspeed\b|\bkm/h\b|\bmph\b", "Average speed is the total distance divided by the total time.",
         "Find the total distance and the total time first, then divide."),
    task("percent", r"%|\bpercent"),
    # code
    task("python", r"\bpython\b", "The code is expected in Python.", categories=("coding",)),
    task("c++", r"\bc\+\+", "The code is expected in C++.", categories=("coding",)),
    task("javascript", r"\bjavascript\b", "The code is expected in JavaScript.", categories=("coding",)),
    task("bug", r"\bbugs?\b|\bwhat is wrong\b",
         "A bug is an input on which the code does something other than what it promises.",
         "Trace the code on a small input by hand and compare each step with what it should compute."),
    task("complexity", r"\bcomplexity\b|\bO\(|\blinear\b",
         "The stated complexity is part of the task, as binding as the result.",
         "Choose the approach for its complexity first, then check that every loop and every extra structure stays "
         "within it."),
    task("recursion", r"\brecursi", "Recursion is part of the task: the function calls itself on a smaller case.",
         "Settle the base cases first, then the step that reduces the problem toward them."),
    task("website", r"\bhtml\b|\bwebsite\b|\bweb page\b",
         "The page should work when saved as a single file and opened in a browser.",
         "Lay out the elements of the page first, then tie the script to them and try each action once."),
    task("files", r"\bfiles?\b|\bdirectory\b|\bfolder\b",
         "Every file the request names is read, and an unreadable one is handled rather than stopping the program.",
         "Separate reading the files from processing their contents, and get one file right first.",
         categories=("coding",)),
    task("tree", r"\btree\b|\bnodes?\b",
         "The tree's nodes and their links are the input, and an empty tree is a possible case.",
         "Decide what the function returns for an empty tree and for a leaf, then how a node combines the results "
         "of its children.", categories=("coding",)),
    task("named technique", r"\busing the [A-Z][\w-]+|\b[A-Z][a-z]+-[A-Z][a-z]+\b",
         "The named method is part of the task: another algorithm would not answer it, even with the right output.",
         "Recall how the named method works, step by step, before writing it.", categories=("coding",)),
    task("counting", r"\bnumber of (?:full|distinct|ways|possible)\b|\bB_n\b|\bhow many (?:ways|distinct)\b", None,
         "Find how the count for one size is built from smaller sizes, then compute it without repeating work.",
         categories=("coding",)),
    task("no extra data structures", r"\bwithout using any extra\b|\bno extra\b|\bin place\b|\bin-place\b", None,
         "Check each step for memory it would add, and work within the input itself."),
    task("sorted", r"\bsorted\b", "The input is sorted, and the solution may rely on that order."),
    task("recurrence", r"\b[A-Z]_n\b|\bnth\b|\bn-th\b", categories=("coding",)),
    task("string", r"\bstrings?\b", categories=("coding",)),
    task("character", r"\bcharacter\b", categories=("writing",)),
    # formats and data
    task("json", r"\bjson\b",
         "Where JSON is asked for, it has to be valid JSON: double-quoted keys and strings, no comments, no "
         "trailing commas.",
         "Fix the shape of the JSON before filling it in, and check every line of it against that shape at the end."),
    task("csv", r"\bcsv\b", "A CSV answer has one header line and one record per line, with commas between the fields.",
         "Fix the columns of the CSV before filling it in, and check every line against them at the end."),
    task("classification", r"\bassign\b|\bcategor", "Each item gets one of the given categories, and only those.",
         "Decide for each item which category fits its main subject, then check that every item was assigned."),
    task("lines", r"\bper line\b|\bline-by-line\b|\bseparate line\b|\bone line\b", None,
         "At the end, check the output line by line against the requested format."),
    task("extreme", r"\bhighest\b|\blowest\b|\blargest\b|\bsmallest\b",
         "The highest or lowest is found by comparing every value given, not the first that stands out.",
         "Compare the values given for every item before naming the extreme one.", categories=("extraction",)),
    task("appearances", r"\bhow many times\b|\bappearances?\b|\boccurrences?\b",
         "Each occurrence counts, and the words to count are exactly those named.",
         "Go through the text once for each word to count, and settle first whether other forms of a word are "
         "counted too."),
    task("entities", r"\bentit|\bcountries\b|\bcapitals?\b", None,
         "Go through the text sentence by sentence, and take each entity exactly as it is written."),
    task("sort", r"\bsort\b", None, "Sort the results in the requested order as the last step."),
    task("named entities", r"\bnamed entit"),
    task("fields", r"\bextract the\b|\bname of\b", categories=("extraction",)),
    task("dictionary", r"\bdictionary\b"),
    task("countries", r"\bcountr|\bcapitals?\b"),
    task("reviews", r"\breviews?\b"),
    task("overall", r"\boverall\b"),
    # science
    task("stages", r"\bstages?\b|\bphases?\b",
         "Each stage is a distinct part of the process, with its own place, inputs and outputs.",
         "Take the stages in the order they happen, and for each one settle where it happens, what goes in and "
         "what comes out.", categories=("stem",)),
    task("chemistry", r"\bchemical equation\b|\bbalanced\b|\breacts? with\b",
         "A balanced equation has the same number of atoms of each element on both sides.",
         "Write the formula of every substance first, then balance the atoms of each element."),
    task("physics", r"\bphysics\b|\bsatellite\b|\borbit",
         "The answer rests on the laws of physics that govern the situation, applied as they are.",
         "Name the law that governs the situation first, then follow what it implies for each quantity asked about."),
    task("design", r"\bdesign\b|\bbridge\b|\bconstruct",
         "The design has to meet the conditions the question states, such as the site and its hazards.",
         "Start from the conditions the site or the use sets, then choose each component to meet them.",
         categories=("stem",)),
    task("justify", r"\bjustify\b", "Each claim is backed by the principle it follows from."),
    task("concept", r"\bwhat is\b|\bconcept\b"),
    task("why", r"\bwhy\b", categories=("stem", "humanities")),
    # society
    task("economics", r"\bgdp\b|\binflation\b|\bfiscal\b|\bmonetary\b|\beconom",
         "Economic terms keep their standard sense, and a correlation is kept apart from a cause.",
         "Define each indicator first, then trace how a change in one moves the others."),
    task("law", r"\blaws?\b|\bantitrust\b|\blegal\b", "Laws are named as they are, each with its jurisdiction.",
         "Set out what each law requires before comparing them, then test the comparison on named cases."),
    task("cases", r"\bcase stud|\bcases\b",
         "Case studies are real, named cases, each showing the point it is given for."),
    task("ideas", r"\bideas?\b", "Each idea is concrete enough to carry out."),
    task("principles", r"\bprinciples\b", "Each principle is a general rule that applies beyond a single case.",
         "Choose principles that do not overlap, then explain how each is applied."),
    task("methods", r"\bmethods?\b", "The methods are ways of working that can be named and shown in use.",
         "Name each method, then show it at work in a concrete instance.", categories=("humanities", "stem")),
    task("etiquette", r"\betiquette\b|\bnorms\b|\bcustoms\b",
         "Norms are the expectations most people there share, not rare formalities.",
         "Group the norms by the situations in which a visitor meets them, in the order they occur."),
    task("philosophy", r"\bmortality\b|\bmeaning of\b|\bstages of life\b",
         "The question invites reflection, so more than one perspective is welcome.",
         "Follow the question through different stages or views before drawing a conclusion."),
    task("recommendation", r"\bsuggest\b|\brecommend",
         "Each suggestion is specific and real, named so that a reader could find it.",
         "Choose suggestions that differ from one another, then give each the background that shows its value.",
         categories=("humanities", "writing", "stem")),
    task("fallacy", r"\bfallacy\b", "A fallacy is named and defined before it is illustrated."),
    task("history", r"\bhistor|\bcentury\b|\bwars?\b"),
)
TYPES = {t.name: t for t in TASK_TYPES}
# read from the facts, not the words: several questions, a stated number of items, a named person to play
TYPES.update({name: TaskType(name, re.compile("(?!)")) for name in ("questions", "count", "famous person")})


def defines_the_reply(name: str) -> bool:
    """A kind of task with its own texts (an email, a proof, a probability) says more about a matching example
    than a tag of subject or form (history, money, options)."""
    return bool(TYPES[name].clarification or TYPES[name].guidance)


def task_types(category: str, instruction: str, whole: str, questions: int = 0, count: bool = False,
               persona: Optional[str] = None) -> List[str]:
    """The kinds of task a question is, in table order. `instruction`: its own words without the material it
    supplies (so that a passage about a letter is not an email task); `whole`: the full text, for the formats
    and the layout of options and clues; `questions`: how many direct questions it asks (two or more: the tag
    "questions"); `count`: it asks for a stated number of items (the tag "count"); `persona`: the role it sets
    (a name: the tag "famous person")."""
    found = (["questions"] if questions >= 2 else []) + (["count"] if count else [])
    if persona and persona[:1].isupper() and persona.split()[0] not in ("A", "An", "The"):
        found.append("famous person")
    for t in TASK_TYPES:
        if t.categories and category not in t.categories:
            continue
        text = whole if t.name in ("json", "csv", "choice", "puzzle", "coordinates", "python", "c++") else instruction
        if t.pattern.search(text):
            found.append(t.name)
    return found
