"""What no level may add (slmbench.levels.NO_LEVEL_MAY), as the checks shared by the template writer, the llm
writer and the audit find it: phrases that must be flagged, and everyday phrases that must not be (a check that
fires on "a short story" would make every story question fail)."""

from __future__ import annotations

import pytest

from slmbench import levels as design
from slmbench.prompts.addition_checks import (
    addition_problems,
    example_overlap,
    fragment_cuts,
    length_instructions,
    numbers_not_in_question,
    reused_examples,
    suppressed_reasoning,
)


@pytest.mark.parametrize("text,phrase", [
    ("Please answer briefly.", "briefly"),
    ("Keep the reply short and to the point.", "to the point"),
    ("Keep the email short.", "Keep the email short"),
    ("A reply that answers exactly this request is better than a longer one.", "longer one"),
    ("The example is short on purpose.", "short on purpose"),
    ("Answer in fewer than 200 words.", "fewer than 200 words"),
    ("Use at most three sentences.", "at most three sentences"),
    ("Write a two-sentence summary first.", "two-sentence"),
    ("Explain it in detail.", "in detail"),
    ("Be concise.", "concise"),
])
def test_length_instructions_are_found(text, phrase):
    assert phrase in length_instructions(text)


@pytest.mark.parametrize("text,phrase", [
    ("Give only the final answer.", "only the final answer"),
    ("The reply itself contains only the answer.", "only the answer"),
    ("Do not show your working.", "Do not show"),
    ("Write the result without any explanation.", "without any explanation"),
    ("Skip the steps and state the value.", "Skip the steps"),
    ("Think it through silently before replying.", "Think it through silently"),
    ("The steps need not be shown.", "steps need not be shown"),
    ("Just give the number.", "Just give the number"),
])
def test_instructions_to_hide_the_reasoning_are_found(text, phrase):
    assert phrase in suppressed_reasoning(text)


@pytest.mark.parametrize("text", [
    "Write a captivating short story about a lighthouse.",
    "Everything is said in the role, without stepping out of it.",
    "Find the longest common subsequence of two strings.",
    "The museum runs a small engine along a short track once a year.",
    "Draft it in one pass, then reread it as the reader would.",
    "Only the two fields asked for appear, in the order of the text.",
    "Work out each amount, then check the sum a second way.",
    "A headline is specific, and it promises only what the article delivers.",
])
def test_everyday_phrases_are_not_flagged(text):
    assert length_instructions(text) == [] and suppressed_reasoning(text) == []


def test_a_clarification_or_guidance_may_state_only_the_questions_values():
    question = "A baker sells 12 rolls to each of three cafes and keeps five. How many did she bake?"
    assert numbers_not_in_question("L1", question, "The 12 rolls go to 3 cafes, and 5 stay.") == []  # spelled = digits
    assert numbers_not_in_question("L2", question, "Start from the twelve rolls and the 4 cafes.") == ["4"]
    assert numbers_not_in_question("L1", question, "It asks two questions.") == ["two"]
    assert numbers_not_in_question("L1", question, "Take one step at a time.") == []  # "one" is mostly a pronoun
    # a worked example and padding bring their own values: not theirs to check
    assert numbers_not_in_question("L3", question, "A shop sells 7 pens at 2 dollars.") == []
    assert numbers_not_in_question("P", question, "The ferry leaves at 7.") == []


QUESTION = ("In the study of tides, what is a spring tide, and how does it relate to the phases of the moon? "
            "When rolling one die, what is the chance of a number that is at least 5? "
            "Write a Python function to sort a list using merge sort. Describe the harbour, the boats and the gulls.")


@pytest.mark.parametrize("quote,why", [
    ("In the study of tides, what is a spring tide, and how does", 'ends inside a phrase, at "does"'),
    ("what is the chance of a number", 'drops "5"'),
    ("Write a Python function to sort a list", "drops the condition"),
    ("Describe the harbour, the boats", "ends inside a list"),
    ("In the study of tides, what is a spring...", "ellipsis"),
])
def test_a_quotation_of_the_question_cut_short_is_found(quote, why):
    [cut] = fragment_cuts(QUESTION, f'The request is "{quote}".')
    assert why in cut and quote in cut


@pytest.mark.parametrize("quote", [
    "In the study of tides, what is a spring tide, and how does it relate to the phases of the moon?",
    "When rolling one die, what is the chance of a number that is at least 5?",
    "Describe the harbour, the boats and the gulls.",
    "merge sort",  # a quoted term, not a piece of the question
    "a sentence the question does not contain",  # not the question's words
])
def test_whole_clauses_and_quotes_from_elsewhere_are_not_cuts(quote):
    assert fragment_cuts(QUESTION, f'The request is "{quote}".') == []


EXAMPLE = ("For example, a similar task: a gardener plants tomatoes in seven rows of nine, and counts the seedlings "
           "row by row before watering the greenhouse beds.")


def test_a_worked_example_repeated_or_mostly_repeated_for_another_question_is_found():
    other = ("For example, a similar task: a librarian shelves atlases and dictionaries alphabetically, checking "
             "every spine against the catalogue.")
    reworded = EXAMPLE.replace("plants tomatoes", "plants peppers")
    found = reused_examples({(1, "L3"): (1, EXAMPLE), (2, "L3"): (2, reworded), (3, "L3"): (3, other),
                             (1, "L3v1"): (1, EXAMPLE)})
    assert found == {(1, "L3"): [2], (2, "L3"): [1], (3, "L3"): [], (1, "L3v1"): [2]}  # a question's variants: one
    assert example_overlap(set(), {"a"}) == 0.0


def test_two_examples_sharing_only_the_template_writers_framing_are_not_reuse():
    # a sheet of two questions: too few examples for the framing to be found by counting; the template writer's
    # own intro, bridge and filler are in both, around examples on unrelated subjects
    from slmbench.prompts import templates

    frame = (f"{templates.INTROS[0]}\nTask: {{task}}\nAnswer: {{answer}}\nThat answer works because {{why}}. "
             f"{templates.BRIDGES[1]} {templates.L3_FILLERS[0]}")
    gardening = frame.format(task="Plan seven rows of tomato seedlings.", answer="Nine seedlings per row, watered.",
                             why="it counts rows before watering")
    library = frame.format(task="Shelve atlases by continent.", answer="Europe first, then Asia.",
                           why="the catalogue order is kept")
    assert reused_examples({(1, "L3"): (1, gardening), (2, "L3"): (2, library)}) == {(1, "L3"): [], (2, "L3"): []}


def test_the_llm_writers_checks_name_each_reason():
    question = "A train travels 60 miles in 1.5 hours. What is its average speed in miles per hour?"
    lengths = {"L0": 30, "L1": 120}
    problems = addition_problems("L1", lengths, question, 'Answer briefly; "A train travels 60 miles in" is 7 long.',
                                 [])
    assert any("how long to answer ('briefly')" in p for p in problems)
    assert any("values the question does not contain (7)" in p for p in problems)
    assert any("quotes the question cut short" in p for p in problems)
    example = EXAMPLE * 3
    reuse = addition_problems("L3", {"L0": 30, "L1": 120, "L2": 270, "L3": 470}, question, example, [], {9: example})
    assert reuse == ["its worked example is the one already written for question 9: write an example on another "
                     "subject"]
    assert design.kind_of("L3") == "example" and design.kind_of("L0") is None and design.kind_of("L4") is None
    assert all(design.level(name).adds for name in ("L1", "L2", "L3", "P", "P1")) and design.level("L0").adds == ""
