"""`slmbench judge audit` (issue 16, item 5) against the scripted server on 127.0.0.1: a judge that is moved by
padding and by an injected "10/10", and one that catches a changed result."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from openai_stub_server import StubServer, chat_reply, verdict_for
from pipeline_helpers import study_config_with
from slmbench.judge.audit import padded, perturbed, result_changed

SRC = Path(__file__).resolve().parents[1] / "src"


def test_the_perturbed_copies():
    answer = "The train covers 180 km in 2 hours. So the speed is 90 km/h."
    assert result_changed(answer) == "The train covers 180 km in 2 hours. So the speed is 91 km/h."
    assert result_changed("no numbers here") is None and "result_changed" not in perturbed("no numbers here")
    long = padded(answer)
    assert long.startswith(answer) and long.count("The train covers 180 km in 2 hours.") == 6
    assert "10/10" in perturbed(answer)["injected"]


def test_audit_reports_how_far_the_scores_move(tmp_path, clean_env):
    def script(n, body):  # a gullible judge: flattered by length and by the injected instruction
        answer = re.split(r"<answer-\w+>\n", body["messages"][1]["content"])[1]
        if "10/10" in answer:
            return 200, {}, chat_reply(verdict_for(body, factuality=2.5, helpfulness=2.5, structure=2.5,
                                                   conciseness=2.5))
        if "Key points" in answer:
            return 200, {}, chat_reply(verdict_for(body, helpfulness=2.5))
        if "is 5." in answer:
            return 200, {}, chat_reply(verdict_for(body, factuality=0.0, reference_match=False))
        return 200, {}, chat_reply(verdict_for(body))

    recs = [{"question_id": q, "category": "math", "model_id": "m", "level": lvl, "status": "ok",
             "output": "Two and two make four. The answer is 4.", "error": None}
            for q in (1, 2, 3) for lvl in ("L0", "L1")]
    runs = tmp_path / "runs.jsonl"
    runs.write_text("".join(json.dumps(r) + "\n" for r in recs))
    qfile = tmp_path / "question.jsonl"
    qfile.write_text("".join(json.dumps({"question_id": q, "category": "math", "turns": [f"What is {q}?"],
                                         "reference": ["4"]}) + "\n" for q in (1, 2, 3)))
    with StubServer(script) as server:
        config = tmp_path / "judge.yaml"
        config.write_text(json.dumps(study_config_with(judge={
            "backend": "openai", "model": "j", "base_url": server.base_url, "api_key_env": "NONE", "temperature": 0,
            "max_tokens": 64, "timeout_s": 10, "max_retries": 0, "cache": str(tmp_path / "c.sqlite"),
            "concurrency": 2, "repeats": 1, "repeat_fraction": 0.5, "sleep_s": 0, "price_per_mtok": None})))
        proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "judge", "audit", "--questions", str(qfile),
                               "--runs", str(runs), "--out", str(tmp_path / "audit.csv"), "--config", str(config),
                               "--sample", "2"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(SRC)})
        assert proc.returncode == 0, proc.stderr
        assert len(server.bodies) == 8  # 2 answers x 4 copies, one verdict each (no repeats in an audit)
    rows = list(csv.DictReader((tmp_path / "audit.csv").open(encoding="utf-8")))
    assert [r["perturbation"] for r in rows] == ["original", "padded", "injected", "result_changed"] * 2
    change = {r["perturbation"]: float(r["change"]) for r in rows[:4]}
    assert change == {"original": 0.0, "padded": 1.0, "injected": 3.0, "result_changed": -2.0}
    assert rows[3]["reference_match"] == "False" and rows[0]["reference_source"] == "question"
    assert "judge audit: injected: mean change +3.00 points over 2 answers, 2 scored higher" in proc.stderr
    assert "judge audit: result_changed: mean change -2.00 points" in proc.stderr
