"""The report rules run by the real Snakemake (with the real common.smk), and `snakemake --report` makes an
HTML report holding the plots and workbooks. Upstream rules are left out: their outputs are given as files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slmbench.layout import PLOTS, WORKBOOKS
from slmbench.records import write_jsonl
from slmbench.report.synthetic import CATEGORIES, write_synthetic_study

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
R = "results/demo"
SNAKEFILE = f"""configfile: "config/demo.yaml"
config["categories"] = {list(CATEGORIES)!r}  # the synthetic study's eight (the demo runs four)
report: "workflow/report/workflow.rst"
include: "workflow/rules/common.smk"
include: "workflow/rules/report.smk"
rule all:
    input: [L.workbook(name) for name in WORKBOOKS] + REPORT_OUTPUTS
"""


def snakemake(wf: Path, work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(wf / "Snakefile"), "--directory", str(work), *args]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """A Snakefile with only common.smk and report.smk, beside links to the repository's code and config."""
    wf, work = tmp_path_factory.mktemp("wf"), tmp_path_factory.mktemp("work")
    for name in ("src", "workflow", "profiles"):
        (wf / name).symlink_to(REPO / name)
    (wf / "Snakefile").write_text(SNAKEFILE)
    (work / "config").symlink_to(REPO / "config")
    results = work / R
    _, _, runs, _ = write_synthetic_study(results, models=("gemma3-270m",), per_category=1, energy=False)
    (results / "models").mkdir()
    (results / "models/gemma3-270m.json").write_text(json.dumps({"file": "gemma3-270m.gguf", "size_bytes": 1}))
    # the judge agreement is an input of the reports (judge.smk writes it; this workflow has no judge rules)
    (results / "judge_agreement.csv").write_text("judge,metric,value\n", encoding="utf-8")
    (results / "prompts").mkdir()
    for i, category in enumerate(CATEGORIES):
        with open(results / f"prompts/{category}_prompts_hierarchical.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["question_id", "category", "level", "prompt"])
            writer.writerows([81 + i, category, level, "text"] for level in ("L0", "L1", "L2", "L3", "P"))
    snakemake(wf, work, "--cores", "2")
    return wf, work, runs


def test_rules_write_every_report(workflow):
    _, work, _ = workflow
    res = work / R
    assert all((res / f"{name}.xlsx").exists() for name in WORKBOOKS)
    assert all((res / f"plots/{name}.{ext}").exists() for name in PLOTS for ext in ("png", "pdf"))
    assert (res / "summary_by_level.csv").exists() and (res / "index.html").exists()
    assert "RESULT: PASS" in (res / "validation.txt").read_text()
    assert "8 questions (from prompt CSVs)" in (res / "validation.txt").read_text()
    summary = (res / "summary.md").read_text()
    assert "Demo scores come from a 270M-parameter base model" in summary and "no power sensor" in summary
    assert (res / "exported_responses/responses_by_model/gemma3-270m/Q081_L0.txt").exists()
    assert "Nothing to be done" in snakemake(*workflow[:2], "-n").stdout


def test_one_report_build_runs_the_analysis_once(workflow):
    _, work, _ = workflow
    logs = sorted((work / R / "logs").rglob("*.log"))
    analyses = [f"{log.name}: {line}" for log in logs for line in log.read_text().splitlines()
                if line.startswith("slmbench report: analysing")]
    assert len(analyses) == 1, analyses  # workbooks, plots, summary and exports all came from it


def test_snakemake_report_holds_the_plots_and_workbooks(workflow):
    wf, work, _ = workflow
    snakemake(wf, work, "--report", "report.html")
    html = (work / "report.html").read_text(encoding="utf-8")
    for name in PLOTS:
        assert f"{name}.png" in html
    assert "model_comparison.xlsx" in html and "image/png" in html
    assert "quality with question-clustered bootstrap confidence intervals" in html  # a caption
    assert "gemma3-270m" in html  # workflow.rst rendered with the config
    # summary.md shown on the first page (workflow.rst), the viewer linked, the items labelled
    first_line = (work / R / "summary.md").read_text(encoding="utf-8").splitlines()[0]
    assert first_line.lstrip("# ").strip()[:40] in html
    assert "index.html" in html and "the results viewer" in html and "PNG (the PDF beside it)" in html


def test_strict_validation_fails_the_run_on_a_violation(workflow, tmp_path):
    wf, work, runs = workflow
    write_jsonl(work / R / "runs_llamacpp.jsonl", runs[1:])  # one run missing
    (work / "strict.yaml").write_text("report: {strict_validation: true}\n")
    try:  # the config is exactly the files given: the demo's, then the one key changed
        proc = snakemake(wf, work, f"{R}/validation.txt", "--cores", "1", "--configfile", "config/demo.yaml",
                         "strict.yaml", check=False)
    finally:
        write_jsonl(work / R / "runs_llamacpp.jsonl", runs)
    assert proc.returncode != 0
    assert "slmbench: error: validation failed" in proc.stdout + proc.stderr
    assert not (work / R / "validation.txt").exists()  # Snakemake removes the failed job's output
