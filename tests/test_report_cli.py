"""`slmbench report`: the happy path, and every bad input as one line naming the file, row and field,
with nothing already written lost and no partial output left."""

from __future__ import annotations

import copy
import csv
import json

import pytest
import yaml

from pipeline_helpers import REPO
from slmbench.config import merge_config
from slmbench.layout import PLOTS, WORKBOOKS
from test_report_helpers import LEVELS, cli, make_study


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    return make_study(tmp, build=False, models=("rising", "flat"), categories=("math",), per_category=4)


def report_args(runs, scores, outdir, *extra):
    return ["report", "--runs", str(runs), "--scores", str(scores), "--outdir", str(outdir), *extra]


def test_report_builds_everything_with_the_aggregate_scripts_flags(good, tmp_path, capsys):
    config = tmp_path / "config.yaml"  # a whole config (the demo's with these keys changed), validated
    model = yaml.safe_load((REPO / "config/demo.yaml").read_text())["models"][0]
    demo = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    config.write_text(yaml.safe_dump(merge_config(demo, {
        "levels": ["L0", "L1", "L2", "L3", "P"], "categories": ["math"],
        "models": [copy.deepcopy(dict(model, id=name)) for name in ("flat", "rising")],
        "judge": {"demo_note": "From the config."},
        "report": {"bootstrap_samples": 500, "confidence": 0.9, "alpha": 0.05, "seed": 3, "quality_margin": 0.5,
                   "strict_validation": False,
                   "memory_bandwidth_gb_s": {"Jetson AGX Orin": 204.8}}})))
    rc = cli(report_args(good["runs"], good["scores"], tmp_path / "out", "--config", str(config)))
    assert rc == 0, capsys.readouterr().err
    out = tmp_path / "out"
    assert all((out / f"{name}.xlsx").exists() for name in WORKBOOKS)
    assert all((out / "plots" / f"{name}.png").exists() for name in PLOTS)
    summary = (out / "summary.md").read_text()
    assert "From the config." in summary and "90% CI" in summary and "(500 resamples)" in summary
    # the demo's levels are the template's: the offline fallback, and the reports say so
    assert "Prompt levels: template: the offline fallback" in summary
    assert summary.index("flat") < summary.index("rising")  # model order from the config
    assert (out / "exported_responses/responses_by_model/rising/Q081_P.txt").exists()


def test_only_and_export_subcommand(good, tmp_path, capsys):
    assert cli(report_args(good["runs"], good["scores"], tmp_path, "--only", "workbooks", "--levels", *LEVELS)) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.xlsx" for n in WORKBOOKS)
    rc = cli(["report", "export", "--runs", str(good["runs"]), "--outdir", str(tmp_path / "exp"), "--csv"])
    assert rc == 0 and [p.name for p in (tmp_path / "exp").iterdir()] == ["all_responses.csv"]


def _edit_lines(path, index, edit):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[index] = edit(lines[index])
    path.write_text("".join(lines), encoding="utf-8")


def _edit_record(path, index, change):
    _edit_lines(path, index, lambda line: json.dumps({**json.loads(line), **change}) + "\n")


def _remove_field(path, index, field):
    def edit(line):
        record = json.loads(line)
        del record[field]
        return json.dumps(record) + "\n"
    _edit_lines(path, index, edit)


def _edit_score(path, index, column, value):
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[index][column] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


BAD_INPUTS = {
    "cut JSON line": ("runs", lambda p: _edit_lines(p, 2, lambda line: line[:40] + "\n"),
                      ["runs_llamacpp.jsonl:3:", "not valid JSON"]),
    "missing field": ("runs", lambda p: _remove_field(p, 1, "level"), ["runs_llamacpp.jsonl:2:", "field level"]),
    "text in a number": ("runs", lambda p: _edit_record(p, 4, {"latency_ms": "fast"}),
                         ["runs_llamacpp.jsonl:5:", "latency_ms", "'fast'"]),
    "duplicate run": ("runs", lambda p: p.write_text(p.read_text() + p.read_text().splitlines()[0] + "\n"),
                      ["runs_llamacpp.jsonl", "duplicate run (rising, L0, 81)"]),
    "no runs": ("runs", lambda p: p.write_text(""), ["runs_llamacpp.jsonl", "no run records"]),
    "no runs file": ("runs", lambda p: p.unlink(), ["runs_llamacpp.jsonl", "not found"]),
    "missing column": ("scores", lambda p: p.write_text(p.read_text().replace("total_score", "total")),
                       ["scores_absolute.csv", "missing column(s) total_score"]),
    "text in a score": ("scores", lambda p: _edit_score(p, 1, "helpfulness", "good"),
                        ["scores_absolute.csv", "row 3, column helpfulness: 'good' is not a number"]),
    "ragged CSV": ("scores", lambda p: _edit_lines(p, 2, lambda line: line.rstrip("\n") + ",extra,cells\n"),
                   ["scores_absolute.csv", "not a readable CSV", "line 3"]),
    "unknown judge status": ("scores", lambda p: _edit_lines(p, 1, lambda line: line.replace(",ok,", ",fine,")),
                             ["scores_absolute.csv", "row 2, column judge_status", "'fine'"]),
    "duplicate score": ("scores", lambda p: p.write_text(p.read_text() + p.read_text().splitlines()[1] + "\n"),
                        ["scores_absolute.csv", "duplicate score (rising, L0, 81) at rows 2, 42"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_naming_where_and_nothing_is_lost(good, tmp_path, capsys, case):
    which, break_it, expected = BAD_INPUTS[case]
    runs, scores = tmp_path / "runs_llamacpp.jsonl", tmp_path / "scores_absolute.csv"
    runs.write_bytes(good["runs"].read_bytes())
    scores.write_bytes(good["scores"].read_bytes())
    break_it(runs if which == "runs" else scores)
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "model_comparison.xlsx"
    earlier.write_bytes(b"an earlier, complete workbook")
    rc = cli(report_args(runs, scores, out))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("slmbench: error: "), err
    for fragment in expected:
        assert fragment in err[0], (fragment, err[0])
    assert earlier.read_bytes() == b"an earlier, complete workbook"
    assert [p.name for p in out.iterdir()] == ["model_comparison.xlsx"]


@pytest.mark.parametrize("extra, expected", [
    (["--settings", '{"bootstrap_samples": 5}'], "report.bootstrap_samples is 5"),
    (["--settings", '{"bootstrap": 5}'], "unknown key(s) bootstrap"),
    (["--settings", "{not json"], "--settings: not a JSON object"),
])
def test_bad_settings_are_named(good, tmp_path, capsys, extra, expected):
    assert cli(report_args(good["runs"], good["scores"], tmp_path / "out", *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert not (tmp_path / "out").exists()


def test_a_bad_config_key_is_named(good, tmp_path, capsys):
    config = tmp_path / "old.yaml"  # a whole config with an old key name
    demo = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    config.write_text(yaml.safe_dump(merge_config(demo, {"report": {"bootstrap": 500}})))
    assert cli(report_args(good["runs"], good["scores"], tmp_path / "out", "--config", str(config))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "old.yaml: config error: report: unknown key" in err[0] and "'bootstrap'" in err[0]
