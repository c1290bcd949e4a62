"""Prompt spreadsheet intake: workbooks built here with openpyxl (both layouts, foreign headers, every bad
case) and the real MT-Bench question.jsonl, read back as the CSVs the workflow uses."""

from __future__ import annotations

import csv
import datetime
import json
import subprocess
import sys
import zipfile

import openpyxl
import pytest

from slmbench.errors import UserError
from slmbench.prompts.convert import convert_spreadsheet

LEVELS = ["L0", "L1", "L2", "L3", "P"]
# unicode, a line break, text starting with '=' and a real formula: all must come out exactly as written
CONTENT = {
    (1, "math"): ["Add 2 and 3.", "Add 2 and 3, clearly.", "Add 2 and 3 step by step.", "Like 1+1=2: add 2 and 3.",
                  "Add 2 and 3. Unrelated: the sky is blue =not a formula"],
    (2, "writing"): ["Write a línea.", "Write a línea, please.\nTwo lines.", "Plan, then write a línea — 日本語 ✓.",
                     "Example: 'hi'. Write a línea.", "=SUM(A1:A2) stays text"],
}
QUESTIONS = [{"question_id": 1, "category": "math", "turns": ["Add 2 and 3."]},
             {"question_id": 2, "category": "writing", "turns": ["Write a línea."]}]


def write_book(path, rows, title="Sheet", extra_sheets=()):
    """A workbook whose first sheet holds `rows`; text starting with '=' is stored as text, as Excel does
    for a cell typed with a leading apostrophe."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = title
    for name, sheet_rows in extra_sheets:
        other = book.create_sheet(name, 0)
        for row in sheet_rows:
            other.append(row)
    for row in rows:
        ws.append(row)
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    book.save(path)
    return path


def wide_rows(headers=("question_id", "category", *LEVELS)):
    return [list(headers)] + [[qid, cat, *texts] for (qid, cat), texts in CONTENT.items()]


def long_rows(headers=("question_id", "category", "level", "prompt"), extra=()):
    rows = [list(headers)]
    for (qid, cat), texts in CONTENT.items():
        rows.extend([qid, cat, level, text] for level, text in zip(LEVELS, texts))
    return rows + [list(r) for r in extra]


def questions_file(tmp_path, items=QUESTIONS):
    path = tmp_path / "question.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in items), encoding="utf-8")
    return path


def csv_bytes(outdir):
    return {p.name: p.read_bytes() for p in sorted(outdir.glob("*.csv"))}


def test_wide_long_and_non_english_sheets_give_identical_csvs(tmp_path):
    wide = convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), tmp_path / "a", levels=LEVELS)
    convert_spreadsheet(write_book(tmp_path / "l.xlsx", long_rows()), tmp_path / "b", levels=LEVELS)
    # German headers in the long layout, on a second sheet below a title row, rows out of order
    german = long_rows(headers=("Nummer", "Kategorie", "Stufe", "Text"))
    german = [["Prompts für die Studie"], [], german[0], *reversed(german[1:])]
    convert_spreadsheet(
        write_book(tmp_path / "de.xlsx", german, title="Fragen", extra_sheets=[("Notizen", [["nur Notizen"]])]),
        tmp_path / "c", levels=LEVELS,
        mapping={"question_id": "Nummer", "category": "Kategorie", "level": "Stufe", "prompt": "Text"})
    # Spanish headers in the wide layout, levels renamed too, a named sheet
    spanish = wide_rows(headers=("Pregunta", "Categoría", "Nivel 0", "Nivel 1", "Nivel 2", "Nivel 3", "Relleno"))
    convert_spreadsheet(
        write_book(tmp_path / "es.xlsx", spanish, title="Hoja"), tmp_path / "d", levels=LEVELS, sheet="Hoja",
        mapping={"question_id": "Pregunta", "category": "Categoría", "L0": "Nivel 0", "L1": "Nivel 1",
                 "L2": "Nivel 2", "L3": "Nivel 3", "P": "Relleno"})
    # headers written loosely ("Question ID", "LEVEL") need no mapping
    convert_spreadsheet(write_book(tmp_path / "loose.xlsx", long_rows(headers=("Question ID", "Category", "LEVEL",
                                                                                "Prompt"))), tmp_path / "e",
                        levels=LEVELS)
    assert [p.name for p in wide] == ["math_prompts_hierarchical.csv", "writing_prompts_hierarchical.csv"]
    expected = csv_bytes(tmp_path / "a")
    for other in "bcde":
        assert csv_bytes(tmp_path / other) == expected, other
    with open(tmp_path / "a/writing_prompts_hierarchical.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["question_id", "category", "level", "prompt", "variant"]  # a sheet without variants: 0
    assert [r[2] for r in rows[1:]] == LEVELS and {r[4] for r in rows[1:]} == {"0"}
    assert [r[3] for r in rows[1:]] == CONTENT[(2, "writing")]  # unicode, line break and '=' text preserved


def formula_book(path, cached: bool):
    """The wide sheet with every L1 cell written as a formula (=C2&" Show the steps."), as a user builds
    levels in Excel. openpyxl saves no computed value; `cached` writes the one Excel would have saved."""
    book = openpyxl.load_workbook(write_book(path, wide_rows()))
    for row in (2, 3):
        book.active[f"D{row}"] = f'=C{row}&" Show the steps."'
    book.save(path)
    if cached:
        with zipfile.ZipFile(path) as zf:
            parts = {name: zf.read(name) for name in zf.namelist()}
        xml = parts["xl/worksheets/sheet1.xml"].decode()
        for row in (2, 3):
            l0 = CONTENT[list(CONTENT)[row - 2]][0]
            xml = xml.replace(f'<c r="D{row}"><f>C{row}&amp;" Show the steps."</f><v /></c>',
                              f'<c r="D{row}" t="str"><f>C{row}&amp;" Show the steps."</f>'
                              f'<v>{l0} Show the steps.</v></c>')
        parts["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in parts.items():
                zf.writestr(name, data)
    return path


def test_formula_cells_without_a_saved_value_stop_with_one_line_naming_the_cell(tmp_path):
    book = formula_book(tmp_path / "f.xlsx", cached=False)
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "convert", "--excel", str(book),
                           "--outdir", str(tmp_path / "out"), "--split"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "sheet 'Sheet' row 2 column L1 (D): cell D2 holds the formula =C2&\" Show the steps.\"" in proc.stderr
    assert "no value saved" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_formula_cells_give_the_value_excel_saved(tmp_path):
    book = formula_book(tmp_path / "f.xlsx", cached=True)
    assert openpyxl.load_workbook(book).active["D2"].data_type == "f"
    convert_spreadsheet(book, tmp_path / "out", levels=LEVELS)
    rows = list(csv.DictReader((tmp_path / "out/math_prompts_hierarchical.csv").open(encoding="utf-8")))
    assert rows[1]["level"] == "L1" and rows[1]["prompt"] == "Add 2 and 3. Show the steps."


def hidden_first_sheet(path, visible_table=True):
    book = openpyxl.Workbook()
    stale = book.active
    stale.title = "old"
    for row in wide_rows():
        stale.append([*row[:2], *["stale" if isinstance(v, str) and row[0] != "question_id" else v for v in row[2:]]])
    stale.sheet_state = "hidden"
    current = book.create_sheet("current")
    for row in wide_rows() if visible_table else [["notes only"]]:
        current.append(row)
    for sheet in (stale, current):
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text, as in write_book
    book.save(path)
    return path


def test_a_hidden_stale_first_sheet_is_skipped_for_the_visible_one(tmp_path, capfd):
    convert_spreadsheet(hidden_first_sheet(tmp_path / "h.xlsx"), tmp_path / "out", levels=LEVELS)
    convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), tmp_path / "ref", levels=LEVELS)
    assert csv_bytes(tmp_path / "out") == csv_bytes(tmp_path / "ref")
    assert "using the visible sheet 'current'; the hidden sheet(s) 'old'" in capfd.readouterr().err
    # named, a hidden sheet is the user's choice
    convert_spreadsheet(tmp_path / "h.xlsx", tmp_path / "named", levels=LEVELS, sheet="old")
    assert "stale" in (tmp_path / "named/math_prompts_hierarchical.csv").read_text(encoding="utf-8")


def test_a_table_only_on_a_hidden_sheet_is_one_line_saying_which_to_choose(tmp_path):
    with pytest.raises(UserError, match=r"h.xlsx: the only prompt table is on the hidden sheet 'old'; unhide it, "
                                        r"or choose it with prompts.sheet: old"):
        convert_spreadsheet(hidden_first_sheet(tmp_path / "h.xlsx", visible_table=False), tmp_path / "out",
                            levels=LEVELS)
    assert not (tmp_path / "out").exists()


def test_merged_id_cells_say_merged(tmp_path):
    rows = long_rows()
    for row in rows[2:6]:
        row[0] = None  # question 1's five rows share one merged id cell, A2:A6
    path = write_book(tmp_path / "m.xlsx", rows)
    book = openpyxl.load_workbook(path)
    book.active.merge_cells("A2:A6")
    book.save(path)
    with pytest.raises(UserError) as err:
        convert_spreadsheet(path, tmp_path / "out", levels=LEVELS)
    message = str(err.value)
    assert "sheet 'Sheet' row 3 column question_id (A): cell A3 is part of the merged cells A2:A6" in message
    assert "unmerge A2:A6" in message and "\n" not in message
    assert not (tmp_path / "out").exists()


def test_category_comes_from_question_jsonl_when_the_sheet_lacks_it(tmp_path):
    rows = [["question_id", *LEVELS]] + [[qid, *texts] for (qid, _), texts in CONTENT.items()]
    rows[2][0] = "2"  # an id typed as text is still an id
    convert_spreadsheet(write_book(tmp_path / "x.xlsx", rows), tmp_path / "out",
                        questions_file=questions_file(tmp_path), levels=LEVELS)
    convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), tmp_path / "ref", levels=LEVELS)
    assert csv_bytes(tmp_path / "out") == csv_bytes(tmp_path / "ref")


def test_configured_subsets_leave_the_other_categories_and_levels_out(tmp_path, capfd):
    long = long_rows(extra=[[3, "stem", "L0", "only L0 written so far"]])  # unfinished, but not configured
    paths = convert_spreadsheet(write_book(tmp_path / "l.xlsx", long), tmp_path / "out", levels=["L0", "P"],
                                categories=["writing"])
    assert [p.name for p in paths] == ["writing_prompts_hierarchical.csv"]
    rows = list(csv.DictReader(paths[0].open(encoding="utf-8")))
    assert [(r["question_id"], r["level"]) for r in rows] == [("2", "L0"), ("2", "P")]
    assert "left out" in capfd.readouterr().err


def test_one_file_without_split(tmp_path):
    paths = convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), tmp_path / "out", split=False,
                                levels=LEVELS)
    assert [p.name for p in paths] == ["prompts_hierarchical.csv"]
    rows = list(csv.DictReader(paths[0].open(encoding="utf-8")))
    assert [(r["question_id"], r["level"]) for r in rows] == [(str(q), lvl) for q in (1, 2) for lvl in LEVELS]


def test_the_real_mt_bench_questions_in_a_long_sheet_without_categories(tmp_path, mt_bench_dir):
    items = [json.loads(line) for line in (mt_bench_dir / "question.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [["question_id", "level", "prompt"]]
    for item in reversed(items):  # the sheet's order must not matter
        rows.extend([item["question_id"], lvl, f"{item['turns'][0]}" + ("" if lvl == "L0" else f" ({lvl})")]
                    for lvl in LEVELS)
    paths = convert_spreadsheet(write_book(tmp_path / "mt.xlsx", rows), tmp_path / "out",
                                questions_file=mt_bench_dir / "question.jsonl", levels=LEVELS,
                                categories=sorted({i["category"] for i in items}))
    assert len(paths) == 8
    by_id = {i["question_id"]: i for i in items}
    for path in paths:
        got = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
        assert len(got) == 10 * len(LEVELS)
        ids = [int(r["question_id"]) for r in got]
        assert ids == sorted(ids)
        for r in got:
            assert r["category"] == by_id[int(r["question_id"])]["category"] == path.name.split("_")[0]
            if r["level"] == "L0":
                assert r["prompt"] == by_id[int(r["question_id"])]["turns"][0]  # the first turn, unchanged


# Each bad sheet: (rows, convert kwargs, text the one-line error must contain: sheet, row, column, what)
BAD = {
    "missing_prompt_column": ([["question_id", "category", "level"], [1, "math", "L0"]], {},
                              ["sheet 'Sheet' row 1", "missing column prompt"]),
    "missing_level_column": ([r[:5] for r in wide_rows()], {}, ["sheet 'Sheet' row 1", "missing column(s) L3, P"]),
    "missing_question_id_column": ([["Nummer", "category", *LEVELS], [1, "math", *"abcde"]], {},
                                   ["sheet 'Sheet' row 1", "missing column question_id"]),
    "duplicate": (long_rows(extra=[[1, "math", "L2", "again"]]), {},
                  ["sheet 'Sheet' row 12 column prompt (D)", "duplicate prompt for question 1 level L2",
                   "first at row 4"]),
    "duplicate_wide_row": ([*wide_rows(), wide_rows()[1]], {},
                           ["sheet 'Sheet' rows 2 and 4", "duplicate question_id 1", "keep one row per question"]),
    "empty_prompt_wide": ([*wide_rows()[:2], [2, "writing", "a", "b", None, "d", "e"]], {},
                          ["sheet 'Sheet' row 3 column L2 (E)", "empty prompt for question 2 level L2"]),
    "blank_prompt_long": (long_rows(extra=[[3, "math", "L0", "   "]]), {},
                          ["sheet 'Sheet' row 12 column prompt (D)", "empty prompt"]),
    "unknown_level": (long_rows(extra=[[1, "math", "L9", "x"]]), {},
                      ["sheet 'Sheet' row 12 column level (C)", "unknown level 'L9'"]),
    "unknown_category": (long_rows(extra=[[2, "mathe", "L0", "x"]]), {"questions": True},
                         ["sheet 'Sheet' row 12 column category (B)", "unknown category 'mathe'"]),
    "category_not_a_file_name": (long_rows(extra=[[3, "../etc", "L0", "x"]]), {},
                                 ["sheet 'Sheet' row 12 column category (B)", "'../etc'"]),
    "two_categories_for_one_question": (long_rows(extra=[*([3, "math", lvl, "x"] for lvl in LEVELS[:4]),
                                                         [3, "stem", "P", "x"]]), {},
                                        ["sheet 'Sheet' row 16 column category (B)", "row 12 gives question 3"]),
    "id_not_in_questions": (long_rows(extra=[[3, "math", "L0", "x"]]), {"questions": True},
                            ["sheet 'Sheet' row 12 column question_id (A)", "question 3 is not in the questions file"]),
    "id_not_a_number": (long_rows(extra=[["x1", "math", "L0", "p"]]), {},
                        ["sheet 'Sheet' row 12 column question_id (A)", "'x1' is not a question id"]),
    "id_true": (long_rows(extra=[[True, "math", "L0", "p"]]), {},
                ["sheet 'Sheet' row 12 column question_id (A)", "not a question id"]),
    "id_too_large": (long_rows(extra=[[10**20, "math", "L0", "p"]]), {},
                     ["sheet 'Sheet' row 12 column question_id (A)", "question id 1e+20 is out of range",
                      "0 to 1000000"]),
    "category_too_long": (long_rows(extra=[[3, "x" * 300, "L0", "p"]]), {},
                          ["sheet 'Sheet' row 12 column category (B)", "is 300 characters long", "at most 64"]),
    "number_as_prompt": (long_rows(extra=[[3, "math", "L0", 42]]), {},
                         ["sheet 'Sheet' row 12 column prompt (D)", "expected text, found a number"]),
    "date_as_prompt": (long_rows(extra=[[3, "math", "L0", datetime.datetime(2024, 5, 1)]]), {},
                       ["sheet 'Sheet' row 12 column prompt (D)", "found a date"]),
    "number_as_category": (long_rows(extra=[[3, 7, "L0", "p"]]), {},
                           ["sheet 'Sheet' row 12 column category (B)", "expected text"]),
    "question_lacks_a_level": (long_rows(extra=[[3, "math", "L0", "only L0"]]), {},
                               ["sheet 'Sheet' row(s) 12 column level (C)",
                                "question 3 has no prompt for level(s) L1"]),
    "configured_category_without_rows": (long_rows(), {"categories": ["math", "stem"]},
                                         ["sheet 'Sheet' column category (B)", "configured category(ies) stem"]),
    "two_prompt_columns": ([["question_id", "category", "level", "prompt", "Prompt"]], {},
                           ["sheet 'Sheet' row 1", "column prompt (D) and column Prompt (E) both read as prompt"]),
    "mapped_header_absent": (wide_rows(), {"mapping": {"prompt": "Texto"}},
                             ["sheet 'Sheet' row 1", "no column for the mapping prompt=Texto"]),
    "mapping_of_unknown_field": (wide_rows(), {"mapping": {"promt": "Texto"}}, ["'promt' is not a field"]),
    "unknown_sheet": (wide_rows(), {"sheet": "Prompts"}, ["no sheet 'Prompts'", "sheets: Sheet"]),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_sheet_stops_with_one_line_naming_the_place_and_writes_nothing(tmp_path, case):
    rows, kwargs, expected = BAD[case]
    book = write_book(tmp_path / "bad.xlsx", rows)
    if kwargs.pop("questions", False):
        kwargs["questions_file"] = questions_file(tmp_path)
    outdir = tmp_path / "out"
    with pytest.raises(UserError) as err:
        convert_spreadsheet(book, outdir, levels=LEVELS, **dict(kwargs))
    message = str(err.value)
    assert "\n" not in message
    for text in expected:
        assert text in message, (text, message)
    if "not a field" not in message:
        assert "bad.xlsx" in message
    assert not outdir.exists()


def test_an_error_value_cell_is_not_a_prompt(tmp_path):
    path = write_book(tmp_path / "err.xlsx", wide_rows())
    book = openpyxl.load_workbook(path)
    book.active["E3"] = "#N/A"
    book.active["E3"].data_type = "e"  # what a broken lookup formula leaves behind
    book.save(path)
    with pytest.raises(UserError, match=r"err.xlsx sheet 'Sheet' row 3 column L2 \(E\): expected text, found a "
                                        r"spreadsheet error value \(#N/A\)"):
        convert_spreadsheet(path, tmp_path / "out", levels=LEVELS)
    assert not (tmp_path / "out").exists()


def test_not_a_workbook_and_no_workbook(tmp_path):
    (tmp_path / "p.xlsx").write_text("question_id,category\n")
    with pytest.raises(UserError, match=r"p.xlsx: cannot open as an .xlsx workbook"):
        convert_spreadsheet(tmp_path / "p.xlsx", tmp_path / "out", levels=LEVELS)
    with pytest.raises(UserError, match=r"missing.xlsx: spreadsheet not found"):
        convert_spreadsheet(tmp_path / "missing.xlsx", tmp_path / "out", levels=LEVELS)
    assert not (tmp_path / "out").exists()


def test_a_bad_questions_file_names_its_line(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question_id": 1, "category": "math", "turns": ["x"]}\n{"question_id": 2, "turns": []}\n')
    with pytest.raises(UserError, match=r"q.jsonl line 2: question 2: category None"):
        convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), tmp_path / "out", questions_file=bad,
                            levels=LEVELS)
    assert not (tmp_path / "out").exists()


def test_an_earlier_output_survives_a_failed_conversion(tmp_path):
    outdir = tmp_path / "out"
    convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), outdir, levels=LEVELS)
    before = csv_bytes(outdir)
    with pytest.raises(UserError):
        convert_spreadsheet(write_book(tmp_path / "bad.xlsx", long_rows(extra=[[1, "math", "L2", "dup"]])), outdir,
                            levels=LEVELS)
    assert csv_bytes(outdir) == before
    assert sorted(p.name for p in outdir.iterdir()) == sorted(before)  # no temporary file left either


def test_cli_maps_foreign_headers_and_reports_errors_as_one_line(tmp_path):
    german = write_book(tmp_path / "de.xlsx", long_rows(headers=("Nummer", "Kategorie", "Stufe", "Text")))
    ok = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "convert", "--excel", str(german),
                         "--outdir", str(tmp_path / "de"), "--split", "--map", "question_id=Nummer",
                         "--map", "category=Kategorie", "--map=level=Stufe", "--map", "prompt=Text"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), tmp_path / "ref", levels=LEVELS)
    assert csv_bytes(tmp_path / "de") == csv_bytes(tmp_path / "ref")

    bad = write_book(tmp_path / "bad.xlsx", long_rows(extra=[[1, "math", "L2", "dup"]]))
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "convert", "--excel", str(bad),
                           "--outdir", str(tmp_path / "o"), "--split"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("slmbench: error: ") and "row 12" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_question_ids_and_category_names_in_question_jsonl_are_bounded(tmp_path):
    for item, expected in (({"question_id": 10**20, "category": "math", "turns": ["x"]}, "out of range (0 to 1000000)"),
                           ({"question_id": 1, "category": "c" * 65, "turns": ["x"]},
                            "65 characters long (at most 64)")):
        bad = tmp_path / "q.jsonl"
        bad.write_text(json.dumps(item) + "\n")
        with pytest.raises(UserError, match=r"q.jsonl line 1: ") as err:
            convert_spreadsheet(write_book(tmp_path / "w.xlsx", wide_rows()), tmp_path / "out", questions_file=bad,
                                levels=LEVELS)
        assert expected in str(err.value)
    assert not (tmp_path / "out").exists()
