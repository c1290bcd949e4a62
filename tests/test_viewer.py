"""The static results viewer (index.html), loaded in real headless chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from slmbench.cli import main
from slmbench.layout import PLOTS, StudyLayout
from slmbench.report.synthetic import write_synthetic_study
from slmbench.report.viewer import TEXT_CHARS, write_index_html

HOSTILE = "<script>console.error('injected {model}')</script></td></table><img src=x onerror=alert(1)> & {qid}"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    pytest.skip("no chromium installed (Debian: apt-get install chromium)")


def load_in_chromium(page: Path, fragment: str = "") -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and every console message chromium logged."""
    proc = subprocess.run(
        [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0",
         "--user-data-dir=" + str(page.parent / ".chromium"), "--dump-dom", page.resolve().as_uri() + fragment],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return proc.stdout, console


@pytest.fixture
def results(tmp_path):
    """A synthetic results folder (2 models, 5 levels, 2 categories x 3 questions) with hostile answers, a
    validation file, one workbook and one plot."""
    out = tmp_path / "results"
    runs, scores, *_ = write_synthetic_study(
        out, models=("rising", "flat"), categories=("writing", "math"), per_category=3,
        output_text=lambda model, level, qid: HOSTILE.format(model=model, qid=qid))
    (out / "validation.txt").write_text("FAIL runs of model rising: 1 missing\n\nRESULT: FAIL (1 failed, 0 warnings)\n")
    (out / "model_comparison.xlsx").write_bytes(b"PK")
    (out / "plots").mkdir()
    _png(out / "plots" / f"{PLOTS[0]}.png")
    return out, runs, scores


def _png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    fig.savefig(path)
    plt.close(fig)


def test_the_page_loads_without_console_errors_and_lists_every_question(results):
    out, runs, scores = results
    page = write_index_html(runs, scores, out, out / "index.html", title="demo <results>", note="demo note & more")
    dom, console = load_in_chromium(page)
    assert console == []  # no error, and the hostile answers' script never ran
    assert 'data-viewer="ready"' in dom  # the page's own script ran to its end
    assert sorted(map(int, re.findall(r'<tbody class="question" data-qid="(\d+)"', dom))) == list(range(81, 87))
    assert "6 of 6 questions shown" in dom
    # the answers are shown as text, never as markup
    assert dom.count("<script") == 1 and "onerror=alert" not in dom.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;console.error('injected rising')&lt;/script&gt;" in dom
    assert "RESULT: FAIL (1 failed, 0 warnings)" in dom and "demo &lt;results&gt;" in dom
    assert 'href="model_comparison.xlsx"' in dom and f'src="plots/{PLOTS[0]}.png"' in dom
    # one row per level in each question, a cell per model
    group = re.search(r'<tbody class="question" data-qid="81".*?</tbody>', dom, re.S).group(0)
    assert group.count('<th class="level">') == 5 and group.count('class="text answer"') == 10


def test_a_sort_link_sorts_the_headline_table_in_the_browser(results):
    out, runs, scores = results
    page = write_index_html(runs, scores, out, out / "index.html")
    dom, console = load_in_chromium(page, "#sort=headline:2:desc")
    assert console == []
    table = re.search(r'<table class="sortable" id="headline">(.*?)</table>', dom, re.S).group(1)
    assert 'aria-sort="descending">quality (0-10)' in table
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td data-v=\"([^\"]*)\"", table)
    quality = [float(q) for _, _, q in rows]
    assert len(rows) == 10 and quality == sorted(quality, reverse=True)
    assert rows[0][:2] == ("rising", "L3")  # the synthetic effect: rising gains a point per level up to L3


def test_written_offline_self_contained(results):
    out, runs, scores = results
    text = write_index_html(runs, scores, out, out / "index.html").read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<link" not in text
    assert "<style>" in text and text.count("<script>") == 1


def test_the_cli_writes_the_page_and_paths_follow_the_layout(results, capsys, monkeypatch):
    out, runs, scores = results
    monkeypatch.chdir(out.parent)
    page = StudyLayout(results_dir="results", prompts_dir="data", models_dir="models").index_html
    assert page == "results/index.html"
    assert main(["viewer", "--runs", "results/runs_llamacpp.jsonl", "--scores", "results/scores_absolute.csv",
                 "--results-dir", "results", "--out", page]) == 0
    assert "wrote results/index.html" in capsys.readouterr().out
    assert 'href="model_comparison.xlsx"' in Path(page).read_text(encoding="utf-8")


def test_a_bad_runs_file_is_one_line_naming_it(results, capsys):
    out, runs, scores = results
    good = runs.read_text().splitlines()[0]
    runs.write_text(good + '\n{"broken\n')
    assert main(["viewer", "--runs", str(runs), "--results-dir", str(out), "--out", str(out / "i.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "runs_llamacpp.jsonl:2" in err
    assert not (out / "i.html").exists()


# --- the checked readers (issue 27): one line naming the file, line and field, and no page -----------------------

@pytest.mark.parametrize("change, words", [
    (lambda lines: [lines[0].replace('"question_id":81', '"question_id":"Q1"'), *lines[1:]],
     ["runs_llamacpp.jsonl:1", "question_id is 'Q1', not an integer"]),
    (lambda lines: [*lines, lines[0]], ["is listed twice (also line 1)"]),
    (lambda lines: [lines[0].replace('"level":', '"levle":', 1), *lines[1:]], ["runs_llamacpp.jsonl:1", "levle"]),
])
def test_a_bad_or_doubled_run_is_one_line_and_no_page(results, capsys, change, words):
    out, runs, scores = results
    runs.write_text("\n".join(change(runs.read_text().splitlines())) + "\n")
    assert main(["viewer", "--runs", str(runs), "--scores", str(scores), "--results-dir", str(out), "--out",
                 str(out / "i.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and all(w in err for w in words), err
    assert not (out / "i.html").exists()


def test_a_128_kib_cell_in_the_scores_is_one_line_and_no_page(results, capsys):
    out, runs, scores = results
    lines = scores.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[1]]))
    cells[header.index("reason")] = "x" * (128 * 1024 + 1)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    scores.write_text("\n".join([lines[0], buffer.getvalue().rstrip("\n"), *lines[2:]]) + "\n", encoding="utf-8")
    assert main(["viewer", "--runs", str(runs), "--scores", str(scores), "--results-dir", str(out), "--out",
                 str(out / "i.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "scores_absolute.csv" in err and "not a readable CSV" in err, err
    assert not (out / "i.html").exists()


def test_a_2_mb_answer_is_cut_with_a_note_and_the_page_loads(tmp_path):
    out = tmp_path / "results"
    huge = "word " * 400_000  # 2 MB
    runs, scores, *_ = write_synthetic_study(
        out, models=("rising",), categories=("math",), per_category=2,
        output_text=lambda model, level, qid: huge if (qid, level) == (81, "L2") else f"short answer {qid} {level}")
    page = write_index_html(runs, scores, out, out / "index.html")
    assert page.stat().st_size < 400_000  # the 2 MB are not in the page
    dom, console = load_in_chromium(page)
    assert console == [] and 'data-viewer="ready"' in dom
    assert f"{len(huge) - TEXT_CHARS:,} more characters not shown" in dom
    assert "short answer 82 L2" in dom  # every other answer whole


def test_timing_and_shard_repeats_are_not_shown_as_answers(results):
    out, runs, scores = results
    records = [json.loads(line) for line in runs.read_text().splitlines()]
    extra = [{**records[0], "repeat": 1, "output": "timing repeat text"},
             {**records[0], "shard_repeat": 1, "output": "shard repeat text"}]
    runs.write_text("".join(json.dumps(r) + "\n" for r in records + extra))
    text = write_index_html(runs, scores, out, out / "index.html").read_text(encoding="utf-8")
    assert "repeat text" not in text and text.count('class="text answer"') == len(records)
