"""The sentences the template generator adds at each level, written for this project.

Each level adds one kind of text to the level before it (slmbench.levels): L1 a clarification of what
the question asks, L2 guidance on working through it, L3 a worked example of a similar task on another
subject, P an unrelated paragraph. The sentences are chosen and filled from the question's own facts
(question_facts.py: what it asks, its conditions, format, role, reader, material), so each addition is
about its question. None asks for extra visible output (no "state your interpretation first"), none
states an answer, and the padding is never labelled as padding. generate.py fits each addition into its
token band by taking optional sentences until the growth reaches the middle of the band.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from .question_facts import QuestionFacts, words

COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


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


# ---------------------------------------------------------------------------------------------- L1
CATEGORY_CLARIFICATION: Dict[str, Sequence[str]] = {
    "writing": ("It is a writing task, so what counts is a finished text for a reader, not notes about one.",
                "The reply should be the finished piece itself, ready to use, with no drafts or commentary around it."),
    "roleplay": ("The reply is spoken from inside the situation the request sets up, without stepping out of it.",
                 "Everything in the reply belongs to the scene; remarks about playing a role do not."),
    "reasoning": ("The answer has to follow from the facts the question gives, read in their plain, everyday sense.",
                  "Only the information in the question may be used, and each fact in it may matter."),
    "math": ("The result is a definite value, and it should be exact rather than a rounded estimate.",
             "A calculation is wanted whose result is exact, with units where the question has them."),
    "coding": ("The code should run as written, cope with unusual inputs, and come with only as much explanation "
               "as helps a reader use it.",
               "Working, readable code is the core of the reply; a few lines on how it works are enough."),
    "extraction": ("Only what the supplied text actually says counts: nothing is added from general knowledge.",
                   "Every item in the reply has to come from the given text, copied faithfully."),
    "stem": ("The explanation should be scientifically correct and pitched at an informed reader who is not a "
             "specialist.",
             "Accuracy comes first, then clarity for a reader with general, not specialist, knowledge."),
    "humanities": ("A good reply weighs more than one view and grounds its claims in concrete, named examples.",
                   "General statements need support here: names, periods, cases or works that show the point."),
}
GENERIC_CLARIFICATION = ("A good reply covers every part of the request and nothing beyond it.",
                         "Each part of the request deserves an answer, and nothing unasked needs adding.")
FORMAT_CLARIFICATION = {
    "JSON": "Where JSON is asked for, it has to be valid JSON: double-quoted keys and strings, no comments, no "
            "trailing commas.",
    "CSV": "A CSV answer has one header line and one record per line, with commas between the fields.",
    "HTML": "The HTML should work when saved as a single file and opened in a browser.",
    "a table": "Since a table is asked for, its rows and columns should carry the content.",
}
# kind of text asked for -> (what it needs: L1, how to build it: L2); question_facts.DELIVERABLES finds them
KIND_TEXTS: Dict[str, Tuple[str, str]] = {
    "email": ("An email reads best with its purpose in the first lines and a courteous close.",
              "Put the main point of the email first, then the details that support it, then the close."),
    "blog post": ("A blog post speaks to its reader directly and carries them along with a title and short "
                  "sections.",
                  "Open with something that catches the reader, move through the sections in a natural order, "
                  "and end on a line that stays with them."),
    "outline": ("An outline is a skeleton of headings and key points, not finished prose.",
                "Fix the main headings first, then give each its key points in order."),
    "story": ("A story needs a situation, a change and an ending that pays off its opening.",
              "Decide on the turn of the story before the first line, so that the opening can point toward it."),
    "verse": ("The form is verse: line breaks, rhythm and any rhyme asked for are part of the answer.",
              "Choose the shape of the lines and the rhyme first, then fit the content into them line by line."),
    "headline": ("A headline is short and specific, and it promises only what the article delivers.",
                 "Try several wordings and keep those that are both catchy and accurate."),
    "lesson plan": ("A lesson plan gives objectives, timing and activities that a teacher could follow as "
                    "written.",
                    "Lay out the time of each session first, then fit the activities and materials into it."),
    "paragraph": ("A paragraph is one block of prose built around a single controlling idea.",
                  "Choose the idea that holds the paragraph together, then order the details around it."),
    "rating": ("Each rating uses exactly the scale the request defines.",
               "Judge each item against the ends of the scale before deciding on its number."),
    "proof": ("A proof must be valid: every step follows from what came before it.",
              "Choose the line of proof first, then make sure that no step relies on what is to be shown."),
    "procedure": ("The steps should be concrete and in the order in which they would be carried out.",
                  "Fix the sequence of steps before describing any one of them in detail."),
    "translation": ("The reply is the improved text itself, faithful to the meaning of the original.",
                    "Settle the meaning of the original first, then choose the wording that carries it best."),
    "examples": ("The examples should be specific and real, each one showing the point it is given for.",
                 "Pick examples that differ from one another, so that together they cover the point."),
    "comparison": ("A comparison needs the same points of comparison applied to each side.",
                   "Decide on the points of comparison first, then take each side through the same points."),
}
L1_FILLERS = (
    "Where the request leaves a detail open, the most natural reading is the right one, and it needs no comment.",
    "The wording of the request is deliberate, so it is worth taking each phrase at its face value.",
    "A reply that answers exactly this request is better than a longer one that answers a nearby question.",
    "Plain language serves best, and the part that answers the request should be easy to find.",
)


def clarification(f: QuestionFacts) -> Parts:
    opening = pick(f, (f'The request here centres on "{f.ask}".', f'What is wanted is "{f.ask}".',
                       f'The heart of the request is "{f.ask}".'))
    required = [opening]
    if f.persona:
        required.append(f"Everything in the reply is said as {f.persona}, in that voice, without stepping out of "
                        f"the role to comment on it.")
    else:
        required.append(pick(f, CATEGORY_CLARIFICATION.get(f.category, GENERIC_CLARIFICATION)))
    specific = [KIND_TEXTS[kind][0] for kind in f.kinds]
    if f.category == "math" and f.quantity:
        specific.append(f"The value sought is {f.quantity}.")
    if f.category == "coding":
        language = next((fmt for fmt in f.formats if fmt in ("Python", "C++", "JavaScript", "SQL", "HTML")), None)
        specific.append(f"The code is expected in {language}." if language else
                        "No language is named, so any mainstream one will do.")
    if f.questions >= 2:
        specific.append(f"It asks {COUNT_WORDS.get(f.questions, f.questions)} questions, and each of them needs "
                        f"its own answer.")
    if f.count:
        specific.append(f'The number in "{f.count}" is exact: that many, no more and no fewer.')
    specific += [FORMAT_CLARIFICATION[fmt] for fmt in f.formats if fmt in FORMAT_CLARIFICATION][:1]
    if f.conditions:
        specific.append(f'One condition applies to the whole reply: "{words(f.conditions[0], 18)}"')
    if f.audience:
        specific.append(f"The intended reader is {f.audience}, so vocabulary and detail should suit them.")
    if f.material and f.category in ("extraction", "reasoning", "writing", "coding"):
        specific.append("The material to work on is supplied with the request; the reply should rest on it.")
    return Parts(required, specific, [], rotated(f, L1_FILLERS, 1))


# ---------------------------------------------------------------------------------------------- L2
CATEGORY_STEPS: Dict[str, Sequence[str]] = {
    "writing": ("Before drafting, settle who will read the piece and the one impression it should leave.",
                "Then choose the order of its parts so that each leads naturally into the next.",
                "Draft it in one pass, then reread it as that reader would, cutting any sentence that does not "
                "earn its place."),
    "roleplay": ("Before replying, recall how {persona} talks: the words, the attitude, the usual concerns.",
                 "Then work out the reply that {persona} would really give to what was said.",
                 "Finally, reread it and remove anything that breaks the voice or leaves the scene."),
    "reasoning": ("Take the given facts one at a time and work out what each one allows and what it rules out.",
                  "Combine them only when each is clear, and test the conclusion against every fact before "
                  "settling on it.",
                  "Look twice at any word in the question that could change the obvious reading."),
    "math": ("Start from the values the question gives{numbers} and the relation that links them to the "
             "unknown.",
             "Carry the calculation through one step at a time, keeping track of units and signs.",
             "Check the result a second way, for instance by substituting it back or by a rough estimate."),
    "coding": ("Settle the inputs, the output and the edge cases (empty input, a single element, very large "
               "values) before writing the body.",
               "Choose the simplest approach that meets every stated requirement, including any limit on time or "
               "memory.",
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
                 "Answer each part in turn, using only what is known or given.",
                 "Then read the whole reply once more against the request and fix what does not fit.")
L2_FILLERS = (
    "This planning happens before the reply is written; the reply itself contains only the answer.",
    "If a step turns up a mistake, go back to the step where it began rather than patching the end.",
    "Spending a moment on the order of the parts usually saves the reader far more time.",
    "A step that adds nothing to this particular request can simply be skipped.",
)


def guidance(f: QuestionFacts) -> Parts:
    persona = f.persona or "the character"
    numbers = f" ({', '.join(f.numbers)})" if f.numbers else ""
    steps = [s.format(persona=persona, numbers=numbers) for s in CATEGORY_STEPS.get(f.category, GENERIC_STEPS)]
    focus = pick(f, (f'Keep every step aimed at what was asked: "{f.ask}".',
                     f'At each step, check that the work still serves "{f.ask}".',
                     f'Let each step bring the reply closer to "{f.ask}".'), 2)
    specific = [KIND_TEXTS[kind][1] for kind in f.kinds]
    if f.questions >= 2:
        specific.append(f"Work through the {COUNT_WORDS.get(f.questions, f.questions)} questions in the order they "
                        f"are asked, finishing one before starting the next.")
    if f.count:
        specific.append(f'Choose all of the "{f.count}" first and check that no two overlap, then develop each.')
    structured = [fmt for fmt in f.formats if fmt in ("JSON", "CSV", "a table")]
    if structured:
        specific.append(f"Fix the shape of the {structured[0].replace('a ', '')} before filling it in, and check "
                        f"every line of it against that shape at the end.")
    if f.conditions:
        specific.append(f'Keep the condition "{words(f.conditions[-1], 12)}" in view at every step, not only at '
                        f'the end.')
    if f.audience:
        specific.append(f"At each step, ask whether {f.audience} would follow it without help.")
    if f.material and f.category in ("extraction", "reasoning", "coding", "writing"):
        specific.append("Go through the supplied material in order, so that nothing in it is overlooked.")
    return Parts([steps[0], focus], specific, list(steps[1:]), rotated(f, L2_FILLERS, 3))


# ---------------------------------------------------------------------------------------------- L3
# category -> worked examples on other subjects: (task, answer, what makes the answer good)
EXAMPLES: Dict[str, Sequence[Tuple[str, str, str]]] = {
    "writing": (
        ("Write a short notice telling the residents of a building that the water will be off on Tuesday morning.",
         "Dear residents, the water supply will be switched off this Tuesday from 8 to 11 a.m. while a leaking "
         "pipe in the basement is replaced. Please fill a jug or a kettle the evening before. We are sorry for the "
         "trouble, and the building office will answer any questions on 555-0142.",
         "it says what happens, when and why, tells the reader what to do, and keeps a polite tone in a few lines"),
        ("Write a two-sentence product description for a reusable water bottle.",
         "Keep water cold for a whole day, or tea hot through a long morning, with this steel bottle that fits a "
         "car's cup holder and a small backpack alike. Its leak-proof lid comes apart for cleaning, and the bottle "
         "is made to last for years instead of weeks.",
         "it speaks to the reader's needs, keeps to the requested length and gives concrete details"),
    ),
    "roleplay": (
        ("You are a guide in a history museum. Greet a school class and tell them the one rule of the visit.",
         "Good morning, everyone, and welcome to the City Museum! My name is Ana, and I will be your guide today. "
         "Before we start, there is one rule to remember: look with your eyes, not with your hands, because many "
         "of the things in these rooms are hundreds of years old. Now stay close, and follow me to the hall of "
         "old ships!",
         "it speaks in the guide's own voice, stays in the situation and gives the class what the role requires"),
        ("You are a ship's cook on a long voyage. A young sailor complains about the food. Reply to him.",
         "Complain, do you? Lad, I have fed forty men for sixty days on salt beef and hard bread, and not one has "
         "gone hungry. Tomorrow there is fish, if the nets are kind, and a pudding on Sunday if you peel the "
         "potatoes without grumbling. Now sit, eat, and thank the sea it is not worse.",
         "it answers in the cook's own gruff voice, reacts to what was said and never leaves the scene"),
    ),
    "reasoning": (
        ("Tom is older than Ann, and Ann is older than Ben. Who is the youngest of the three?",
         "The first fact puts Tom above Ann in age, and the second puts Ann above Ben. Together they give the "
         "order Tom, Ann, Ben, from oldest to youngest, and both facts still hold for that order. Ben is the "
         "youngest of the three.",
         "each step uses only the given facts, the combined order is checked, and the conclusion is plain"),
        ("Every member of the chess club is a student, and Mia is not a student. Can Mia be a member of the club?",
         "Every member of the club is a student. If Mia were a member, she would therefore be a student, but the "
         "second fact says she is not. The assumption leads to a contradiction, so Mia cannot be a member of "
         "the chess club.",
         "it uses only the two facts, tests the alternative and ends with a clear conclusion"),
    ),
    "math": (
        ("A shop sells pencils at 3 for 45 cents. How much do 12 pencils cost?",
         "One pencil costs 45 cents divided by 3, which is 15 cents. Twelve pencils cost 12 times 15 cents, which "
         "is 180 cents, or $1.80. Check: 12 pencils are 4 groups of 3, and 4 times 45 cents is also 180 cents. "
         "Twelve pencils cost $1.80.",
         "every step of the calculation is shown, the result is checked a second way, and the value is stated"),
        ("A rectangle is 8 cm long and 5 cm wide. What is its perimeter?",
         "A rectangle has two lengths and two widths, so the perimeter is 2 times 8 cm plus 2 times 5 cm, that "
         "is 16 cm plus 10 cm, or 26 cm. Check: adding the four sides one by one, 8 + 5 + 8 + 5 also gives 26. "
         "The perimeter is 26 cm.",
         "the formula is explained, the arithmetic is shown and checked, and the unit is kept"),
    ),
    "coding": (
        ("Write a Python function that returns the largest number in a list, or None when the list is empty.",
         "def largest(numbers):\n    if not numbers:\n        return None\n    best = numbers[0]\n"
         "    for number in numbers[1:]:\n        if number > best:\n            best = number\n    return best\n"
         "It handles the empty list first, then walks through the list once, keeping the largest value seen.",
         "the code runs, covers the edge case, and one sentence says how it works"),
        ("Write a C++ function that reverses a string in place.",
         "void reverse_in_place(std::string& s) {\n    std::size_t i = 0, j = s.size();\n"
         "    while (i + 1 < j) {\n        std::swap(s[i], s[j - 1]);\n        ++i;\n        --j;\n    }\n}\n"
         "Two indices move toward the middle, swapping characters, so one pass reverses the string without "
         "extra memory; an empty string is left as it is.",
         "it meets the in-place requirement, handles the empty string and explains itself briefly"),
    ),
    "extraction": (
        ("From the text 'Order 17 was shipped to Lyon on 3 May; order 18 was shipped to Porto on 5 May', list the "
         "number and the city of each order as JSON.",
         '[{"order": 17, "city": "Lyon"}, {"order": 18, "city": "Porto"}]\n'
         "Only the two fields asked for appear, in the order of the text, copied exactly; the dates are left out "
         "because the task did not ask for them.",
         "it takes exactly the requested items from the text and gives them in the requested format"),
        ("From 'Ana scored 91 in maths and 84 in art; Ben scored 77 in maths and 88 in art', give each student's "
         "scores as CSV.",
         "name,maths,art\nAna,91,84\nBen,77,88\n"
         "The header names the columns in the order the subjects appear, each student has one line, and the scores "
         "are copied exactly from the text.",
         "the format is exactly the one requested and every value comes from the text"),
    ),
    "stem": (
        ("Why does ice float on water?",
         "Ice floats because it is less dense than liquid water. When water freezes, hydrogen bonds hold its "
         "molecules in an open, six-sided lattice that takes up about 9 percent more space than the liquid, so "
         "ice has about 0.92 grams per cubic centimetre against 1.00 for water. By Archimedes' principle, an "
         "object less dense than the liquid floats.",
         "it names the cause, explains the mechanism, gives numbers and links them to a known principle"),
        ("What causes the seasons on Earth?",
         "The seasons come from the tilt of Earth's axis, about 23.5 degrees. For part of the year one hemisphere "
         "leans toward the Sun: sunlight strikes it more directly and the days are longer, so it warms. Half a "
         "year later the same hemisphere leans away, the light arrives at a low angle and the days are short. The "
         "change in distance to the Sun is small and is not the cause.",
         "it names the cause, explains the mechanism with a number and rules out a common misconception"),
    ),
    "humanities": (
        ("Why did the printing press matter for Europe?",
         "Printing with movable type, introduced by Gutenberg around 1450, made books cheaper and faster to "
         "produce. It spread reading beyond the clergy, let the ideas of the Reformation travel quickly, and gave "
         "scholars identical copies to compare. Historians such as Elizabeth Eisenstein argue that it changed how "
         "knowledge was kept; others note that most people still could not read for generations.",
         "it gives concrete examples, names a source of evidence and weighs more than one view"),
        ("What was the main purpose of the Silk Road?",
         "The Silk Road was a network of land and sea routes linking China with Central Asia, Persia and the "
         "Mediterranean. Its purpose was trade: silk and spices moved west, horses and silver moved east. "
         "Historians such as Valerie Hansen stress that most of that trade was local, and that ideas travelled "
         "as far as goods did: Buddhism reached China along these routes.",
         "it answers the question directly, gives named examples and cites a historian's view"),
    ),
}
GENERIC_EXAMPLES = (
    ("Name two benefits of walking to work.",
     "Walking to work is exercise that fits into the day without extra time: half an hour of brisk walking "
     "meets the daily activity that health agencies recommend for adults. It also costs nothing and causes no "
     "traffic or fumes, so it saves money on fuel or tickets and helps the air in the town.",
     "it answers exactly what was asked, explains each point with a concrete detail and stays short"),
)
FORMAT_EXAMPLE = {"JSON": 0, "CSV": 1, "C++": 1, "Python": 0}  # which example of the category shows that format


def example_for(f: QuestionFacts) -> Tuple[str, str, str]:
    pool = EXAMPLES.get(f.category, GENERIC_EXAMPLES)
    for fmt in f.formats:
        if fmt in FORMAT_EXAMPLE and FORMAT_EXAMPLE[fmt] < len(pool):
            return pool[FORMAT_EXAMPLE[fmt]]
    return pick(f, pool, 4)


def worked_example(f: QuestionFacts) -> Parts:
    task, answer, why = example_for(f)
    intro = pick(f, ("For comparison, here is a task of the same kind on a different subject, with an answer "
                     "that handles it well.",
                     "A similar task on another subject shows the standard to aim for.",
                     "Here is an example of the same kind of task, on a different subject, answered well."), 5)
    bridge = pick(f, (f'The request above is different, but the same standard applies to "{f.ask}".',
                      f'Nothing in the example is part of the answer here; only its standard carries over to '
                      f'"{f.ask}".',
                      f'The subject above differs, yet "{f.ask}" calls for the same care.'), 6)
    head = [f"{intro}\nTask: {task}\nAnswer: {answer}\n", f"That answer works because {why}.", bridge]
    specific = []
    if f.conditions:
        specific.append(f'As in the example, the stated condition ("{words(f.conditions[0], 12)}") is met exactly.')
    fillers = rotated(f, ("The example is short on purpose; the length of a reply should follow from what is "
                            "asked, not from the example.",
                            "Its subject is unrelated on purpose, so that it shows a way of working and nothing "
                            "more."), 7)
    return Parts(head, specific, [], fillers)


# ---------------------------------------------------------------------------------------------- P and controls
# Neutral paragraphs: fluent, unrelated to any question, never labelled. generate.py takes sentences from
# one topic (then the next) until the padding is as long as its band asks.
PADDING_TOPICS: Sequence[Sequence[str]] = (
    ("The town library reopened last spring after a long renovation.",
     "Its reading room now has taller windows, new oak tables and a quiet corner for evening study.",
     "The garden behind the building was replanted with lavender, rosemary and a row of young apple trees.",
     "Volunteers water the beds twice a week in summer, usually early, before the heat arrives.",
     "A small cafe near the entrance sells tea, soup and bread baked the same morning.",
     "On Saturdays a group meets there to mend bicycles, clocks and old radios while children watch.",
     "In winter the old boiler was replaced, and the rooms now stay warm on the coldest days.",
     "Visitors often say the building feels lighter and calmer than it did before."),
    ("The ferry leaves the harbour at seven and reaches the island a little before nine.",
     "Most mornings the crossing is calm, and gulls follow the stern for the first few miles.",
     "Passengers buy coffee at a narrow counter and carry it out to the benches on deck.",
     "Halfway across, the lighthouse on the northern point comes into view above the rocks.",
     "In autumn the wind turns, and the captain sometimes waits an hour for the swell to settle.",
     "Delivery vans for the island's two shops take up most of the lower deck.",
     "The return trip in the evening is quieter, and the lights of the mainland come on one by one.",
     "Regular travellers know which seats stay dry when the spray comes over the rail."),
    ("The bakery on the corner lights its ovens at four in the morning.",
     "By six the first trays of rolls are cooling on racks near the window.",
     "The baker's daughter writes the day's bread on a chalkboard by the door.",
     "Rye loaves sell out first on Fridays, and the seeded ones soon after.",
     "A delivery bicycle with a wide basket takes orders to the cafes on the square.",
     "In the afternoon the shop smells of cinnamon from the buns made for the school crowd.",
     "Flour arrives in paper sacks from a mill two valleys away.",
     "On holidays a queue forms outside before the shutters are even raised."),
    ("A weather station stands on the ridge above the village, a white box on a metal mast.",
     "It records temperature, wind and rain every ten minutes and sends the readings down by radio.",
     "Walkers often stop beside it to rest and look across the valley to the lake.",
     "In heavy snow a technician climbs up on skis to clear the sensors.",
     "The oldest records, kept by hand in notebooks, go back more than a century.",
     "Lightning struck the mast twice in one summer, and the instruments were moved to a new frame.",
     "Schoolchildren from the valley visit each spring to see how the gauges work.",
     "On clear nights the ridge is one of the darkest places in the region, and the stars are bright."),
    ("The railway museum occupies an old engine shed at the edge of the town.",
     "Its largest exhibit is a green steam locomotive that once pulled the night mail.",
     "Retired drivers guide visitors on weekends and tell stories about the long winter runs.",
     "A model of the old junction, built over many years, fills one corner of the hall.",
     "Children can sit in a restored carriage with wooden seats and brass luggage racks.",
     "Once a year the museum fires up a small tank engine and runs it along a short track.",
     "The station clock above the entrance was rescued from a building that was pulled down.",
     "The shop sells postcards, timetables from the last century and tin whistles."),
    ("In October the river below the old mill runs slow and clear.",
     "Leaves from the alders gather in the eddies and turn slowly in the current.",
     "Herons stand in the shallows at dawn, perfectly still, waiting for fish.",
     "A footpath follows the bank past allotments, a boathouse and a stone bridge.",
     "Anglers come on weekend mornings and sit on folding stools with flasks of tea.",
     "After heavy rain the water rises and turns brown, and the weir roars for days.",
     "The mill itself was turned into flats, but its wheel was kept and repainted.",
     "In the evening mist settles over the water meadows and the cows move toward the gate."),
)


def padding_sentences(f: QuestionFacts, salt: int = 0) -> List[str]:
    """Every padding sentence, starting with this question's topic and sentence, then the other topics."""
    first = (f.seed + salt) % len(PADDING_TOPICS)
    ordered: List[str] = []
    for offset in range(len(PADDING_TOPICS)):
        topic = PADDING_TOPICS[(first + offset) % len(PADDING_TOPICS)]
        ordered += [topic[0], *rotated(f, topic[1:], salt + offset)]  # the first sentence says what it is about
    return ordered
