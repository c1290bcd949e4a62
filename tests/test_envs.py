"""Reproducible installs: envs/*.txt say what pyproject.toml says, and constraints.txt pins every requirement
inside its range; the README and CI install through the constraints file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
INSTALL = "pip install -c constraints.txt -e '.[dev]'"


def requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def same(a: Requirement, b: Requirement) -> bool:
    return (canonicalize_name(a.name), a.extras, a.specifier, str(a.marker)) == (
        canonicalize_name(b.name), b.extras, b.specifier, str(b.marker))


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            assert canonicalize_name(name) not in found, f"{name} is pinned twice"
            found[canonicalize_name(name)] = version
    return found


def unpinned(reqs, constraints: dict[str, str]) -> list[str]:
    """The requirements (for this Python) the constraints leave out or pin outside the requirement's range."""
    problems = []
    for req in reqs:
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        if name == "slmbench":  # the project's own extras
            continue
        if name not in constraints:
            problems.append(f"{req.name}: not pinned")
        elif not req.specifier.contains(constraints[name], prereleases=True):
            problems.append(f"{req.name}: pinned {constraints[name]}, outside {req.specifier}")
    return problems


def test_envs_orchestration_lists_exactly_pyproject_s_dependencies():
    declared = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    listed = requirements(REPO / "envs" / "orchestration.txt")
    assert len(listed) == len(declared)
    for req in declared:
        assert any(same(req, other) for other in listed), f"envs/orchestration.txt lacks or differs on {req}"


@pytest.mark.parametrize("name", ["inference.txt", "inference-jetson.txt"])
def test_the_inference_envs_ask_for_pyproject_s_llama_cpp_python(name):
    declared = next(Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("llama-cpp-python"))
    listed = requirements(REPO / "envs" / name)
    assert [canonicalize_name(r.name) for r in listed] == ["llama-cpp-python"]
    assert listed[0].specifier == declared.specifier


def test_constraints_pin_every_requirement_inside_its_range():
    reqs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    assert unpinned(reqs, pins((REPO / "constraints.txt").read_text(encoding="utf-8"))) == []


def test_the_check_finds_a_missing_or_stale_pin():
    reqs = [Requirement("pandas>=2.1,<4"), Requirement("openai>=1.40,<4"), Requirement("gguf>=0.10")]
    assert unpinned(reqs, {"pandas": "4.0.1", "gguf": "0.19.0"}) == [
        "pandas: pinned 4.0.1, outside <4,>=2.1", "openai: not pinned"]


def test_the_readme_and_ci_install_through_the_constraints():
    assert INSTALL in (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^python3 -m venv \.venv && \.venv/bin/" + re.escape(INSTALL), ci, re.M), ci
