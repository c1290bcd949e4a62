"""The README's figures come from the project's own models, not from prose: the time per board is what
slmbench.eta computes for the study config, and the guide's sections are in the order a newcomer needs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from slmbench import eta

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
# the study's Q6_K files (GB), as downloaded: the model's input before any file is on the board
STUDY_MODEL_GB = {"qwen1.5-1.8b": 1.6, "gemma-2-2b": 2.2, "phi-3.5-mini": 3.1, "qwen3-4b": 3.3}
BOARDS = {"Orin Nano": "Jetson Orin Nano", "Orin NX": "Jetson Orin NX", "AGX Orin": "Jetson AGX Orin"}


def test_the_time_per_board_is_the_eta_model_s():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    assert [m["id"] for m in config["models"]] == list(STUDY_MODEL_GB)
    step = README[README.index("6. **Run it**"):README.index("7. **Watch it**")]
    for short, key in BOARDS.items():
        board = eta.board_of(key, config["report"]["memory_bandwidth_gb_s"])
        plan = eta.board_plan(config, board, STUDY_MODEL_GB, questions_per_category=10)
        assert f"{eta.duration(plan.total_s)} on an {short}" in step, (short, eta.duration(plan.total_s), step)
        assert f"about {eta.duration(plan.judging_s)} of judging" in step


def test_the_guide_comes_before_the_reference():
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings == ["Quick start", "Run the study on a Jetson", "Read the results", "Reference"]
    assert README.count("```bash") <= 8 and len(README.splitlines()) < 220  # a guide; the rest is in docs/
    assert "qwen2.5" not in README  # the examples name the study's models


def test_the_reference_links_resolve():
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in link:
            assert (REPO / link).exists(), link
    reference = (REPO / "docs" / "REFERENCE.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", reference, re.M)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
    used = re.findall(r"docs/REFERENCE\.md#([a-z0-9-]+)", README) + re.findall(r"\]\(#([a-z0-9-]+)\)", reference)
    for anchor in used:
        assert anchor in anchors, anchor


def test_the_repeated_shards_add_inference_time_and_no_judging():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    board = eta.board_of("Jetson Orin Nano", config["report"]["memory_bandwidth_gb_s"])
    config["inference"]["shard_repeats"] = 0
    without = eta.board_plan(config, board, STUDY_MODEL_GB, questions_per_category=10)
    config["inference"]["shard_repeats"] = 1
    with_repeats = eta.board_plan(config, board, STUDY_MODEL_GB, questions_per_category=10)
    per_shard = {m: eta.prior_shard_s(config, 10, gb, board) for m, gb in STUDY_MODEL_GB.items()}
    assert with_repeats.inference_s - without.inference_s == pytest.approx(sum(per_shard.values()))
    assert with_repeats.judging_s == without.judging_s
