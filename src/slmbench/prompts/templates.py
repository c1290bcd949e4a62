"""The texts the template generator adds to a question, written for this project.

Each level appends one kind of text to the canonical question (L0): L1 a clarification, L2 step
guidance, L3 a worked example on a different task of the same category, P an unrelated paragraph. Sizes
aim at the middle of each level's intended range over L0 (L1 +50..150, L2 +100..200, L3 +150..250, P
+100..200 tokens), so o200k and cl100k counts both land inside it; tests check every MT-Bench question.
"""

from __future__ import annotations

from typing import Dict

# category -> what a good answer is (spliced into L1, L2 and L3)
CATEGORY_HINTS: Dict[str, str] = {
    "writing": "a piece of writing with a clear purpose, a fitting tone for its reader and a clean structure",
    "roleplay": "an answer that stays in the given role, speaks in that voice and keeps to the situation",
    "reasoning": "a careful chain of reasoning in which every step follows from the facts that are given",
    "math": "a correct calculation in which each step is shown and the final number is stated plainly",
    "coding": "working, readable code with a short explanation of how it works and of its edge cases",
    "extraction": "exactly the requested items taken from the given text, in the requested format",
    "stem": "an accurate scientific or technical explanation at the level of an informed general reader",
    "humanities": "a balanced, well-informed discussion that names concrete examples and sources of evidence",
}
GENERIC_HINT = "a complete, accurate and well-organised answer that addresses every part of the request"

CLARIFICATION = (
    "To be clear about what is wanted: the task above asks for {hint}. Answer the request exactly as it is "
    "asked, and do not change the question into an easier one. If some detail is not specified, choose a "
    "reasonable interpretation and state it in one sentence before you answer. Keep the answer focused on what "
    "was asked, use plain language, and make sure that the final answer is easy to find."
)
GUIDANCE = (
    "Work through it in steps. First, restate in one sentence what the task asks for, which is {hint}. "
    "Second, list the facts, constraints and requirements that the task gives you, and note anything that is "
    "missing. Third, plan the answer: decide on its parts and their order before you write them. Fourth, write "
    "the answer itself, one part at a time, checking each part against the requirements as you go. Fifth, read "
    "the answer once more, correct any mistake you find, and remove anything that does not help the reader. "
    "Finally, make sure that the answer ends with a clear conclusion or result, and that it answers every part "
    "of the task."
)

# category -> (an example task of that kind, its answer, why the answer is good)
EXAMPLES: Dict[str, tuple] = {
    "writing": (
        "Write a short notice telling the residents of a building that the water will be off on Tuesday morning.",
        "Dear residents, the water supply will be switched off this Tuesday from 8 to 11 a.m. while a leaking pipe "
        "in the basement is replaced. Please fill a jug or a kettle the evening before. We are sorry for the "
        "trouble, and the building office will answer any questions on 555-0142. The water will be safe to drink as soon as it "
        "comes back on.",
        "it says what happens, when and why, tells the reader what to do, and keeps a polite tone in a few lines",
    ),
    "roleplay": (
        "You are a guide in a history museum. Greet a school class and tell them the one rule of the visit.",
        "Good morning, everyone, and welcome to the City Museum! My name is Ana, and I will be your guide today. "
        "Before we start, there is one rule I need you to remember: look with your eyes, not with your hands, "
        "because many of the things in these rooms are hundreds of years old. Now, stay close, and follow me to "
        "the hall of old ships!",
        "it speaks in the guide's own voice, stays in the situation and gives the class what the role requires",
    ),
    "reasoning": (
        "Tom is older than Ann, and Ann is older than Ben. Who is the youngest of the three?",
        "The first fact says that Tom is older than Ann. The second fact says that Ann is older than Ben. "
        "Putting the two facts together gives the order Tom, then Ann, then Ben, from oldest to youngest. "
        "Checking the order against both facts: Tom is older than Ann, and Ann is older than Ben, so both hold. "
        "Answer: Ben is the youngest of the three.",
        "each step uses only the given facts, the combined order is checked, and the answer is stated at the end",
    ),
    "math": (
        "A shop sells pencils at 3 for 45 cents. How much do 12 pencils cost?",
        "First, find the price of one pencil: 45 cents divided by 3 is 15 cents. Next, multiply by the number of "
        "pencils: 12 times 15 cents is 180 cents. Then convert the result: 180 cents is 1 dollar and 80 cents. "
        "Check: 12 pencils are 4 groups of 3, and 4 times 45 cents is also 180 cents. Result: 12 pencils "
        "cost $1.80.",
        "every step of the calculation is shown, the result is checked a second way, and the number is stated",
    ),
    "coding": (
        "Write a Python function that returns the largest number in a list, or None when the list is empty.",
        "def largest(numbers):\n    if not numbers:\n        return None\n    best = numbers[0]\n"
        "    for number in numbers[1:]:\n        if number > best:\n            best = number\n    return best\n"
        "The function handles the empty list first, then keeps the largest value seen so far while it walks "
        "through the list once, so it takes time in proportion to the length of the list.",
        "the code runs, covers the edge case, and a short explanation says how it works",
    ),
    "extraction": (
        "From the text 'Order 17 was shipped to Lyon on 3 May; order 18 was shipped to Porto on 5 May', list "
        "the number and the city of each order as JSON.",
        '[{"order": 17, "city": "Lyon"}, {"order": 18, "city": "Porto"}]\n'
        "The answer contains only the two fields that were asked for, in the order in which the orders appear "
        "in the text, with the numbers and city names copied exactly. The dates are left out, because the task "
        "did not ask for them, and nothing is added.",
        "it takes exactly the requested items from the text and gives them in the requested format",
    ),
    "stem": (
        "Why does ice float on water?",
        "Ice floats because it is less dense than liquid water. When water freezes, hydrogen bonds hold its "
        "molecules in an open, six-sided lattice that takes up about 9 percent more space than the liquid. "
        "The same mass in a larger volume means a lower density: about 0.92 grams per cubic centimetre for "
        "ice, against 1.00 for water. By Archimedes' principle, an object less dense than the liquid floats. This is also why lakes freeze "
        "from the top down.",
        "it names the cause, explains the mechanism, gives numbers and links them to a known principle",
    ),
    "humanities": (
        "Why did the printing press matter for Europe?",
        "Printing with movable type, introduced by Gutenberg around 1450, made books cheaper and faster to "
        "produce. It spread reading beyond the clergy, let the ideas of the Reformation travel quickly, and "
        "gave scholars identical copies of the same text to compare and correct. Historians such as Elizabeth "
        "Eisenstein argue that it changed how knowledge was kept and passed on; others note that most people "
        "still could not read for generations, so its effects came slowly and unevenly, first in the cities "
        "and among the well-off.",
        "it gives concrete examples, names a source of evidence and weighs more than one view",
    ),
}
GENERIC_EXAMPLE = (
    "Name two benefits of walking to work.",
    "Walking to work is exercise that fits into the day without extra time: thirty minutes of brisk walking "
    "meets the daily activity that health agencies recommend for adults. It also costs nothing and causes no "
    "traffic or fumes, so it saves money on fuel or tickets and helps the air in the town. For people who "
    "live far away, walking part of the way, from a bus stop or a car park, keeps some of both benefits.",
    "it answers exactly what was asked, explains each point with a concrete detail and stays short",
)
WORKED_EXAMPLE = (
    "Here is an example of the expected approach, on a different task.\nTask: {task}\nAnswer: {answer}\n"
    "This answer is good because {why}. Apply the same care to the task above, which asks for {hint}: say "
    "what you are doing, do it, check it, and finish with a clear result."
)

PADDING = (
    "Background note (not related to the task): the town library reopened last spring after a long "
    "renovation. The reading room now has taller windows, new oak tables and a quiet corner for people who "
    "study in the evening. The garden behind the building was replanted with lavender, rosemary and a row of "
    "young apple trees, and volunteers water them twice a week in the summer. A small cafe near the entrance "
    "sells tea, soup and bread baked in the morning. On Saturdays a group meets there to repair bicycles, "
    "clocks and old radios, and children come to watch. Visitors often say that the building feels lighter and "
    "calmer than it did before. In the winter the old boiler was replaced, and the rooms now stay warm even "
    "on the coldest mornings of the year."
)


def additions(category: str) -> Dict[str, str]:
    """Level -> the text appended (after a blank line) to a question of this category."""
    hint = CATEGORY_HINTS.get(category, GENERIC_HINT)
    task, answer, why = EXAMPLES.get(category, GENERIC_EXAMPLE)
    return {
        "L1": CLARIFICATION.format(hint=hint),
        "L2": GUIDANCE.format(hint=hint),
        "L3": WORKED_EXAMPLE.format(task=task, answer=answer, why=why, hint=hint),
        "P": PADDING,
    }
