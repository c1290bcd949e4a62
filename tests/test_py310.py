"""The inference side runs under JetPack 6's system Python 3.10 with only llama-cpp-python installed:
its modules must parse and run on 3.10 (checked by vermin) and import nothing beyond the standard library."""

from __future__ import annotations

import subprocess
import sys

from pipeline_helpers import REPO

# what `python -m slmbench.inference` (and the doctor's `python -m slmbench.chat_render`) loads, plus the
# package's __init__ and errors
INFERENCE_SIDE = ["src/slmbench/__init__.py", "src/slmbench/inference.py", "src/slmbench/chat.py",
                  "src/slmbench/records.py", "src/slmbench/errors.py", "src/slmbench/command.py",
                  "src/slmbench/boards.py", "src/slmbench/jetson.py", "src/slmbench/prompt_rows.py",
                  "src/slmbench/layout.py", "src/slmbench/chat_render.py", "src/slmbench/live.py",
                  "src/slmbench/serving.py", "src/slmbench/power_modes.py", "src/slmbench/mode_order.py",
                  "src/slmbench/power/"]


def vermin(*paths: str) -> subprocess.CompletedProcess:
    # vermin has no __main__ module: call its console entry point through this interpreter
    runner = "import sys, vermin; sys.argv[0] = 'vermin'; sys.exit(vermin.main())"
    return subprocess.run([sys.executable, "-c", runner, "--target=3.10-", "--violations", "--no-tips", *paths],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_inference_and_power_modules_need_at_most_python_3_10():
    proc = vermin(*INFERENCE_SIDE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_vermin_catches_a_3_11_feature(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("import tomllib\n\ndef f(e):\n    raise ExceptionGroup('x', [e])\n")
    proc = vermin(str(newer))
    assert proc.returncode != 0 and "tomllib" in proc.stdout


def test_the_inference_entry_point_imports_only_the_standard_library():
    heavy = ["pandas", "numpy", "yaml", "snakemake", "jsonschema", "openpyxl", "openai", "gguf", "pydantic"]
    code = ("import sys, slmbench.inference, slmbench.chat, slmbench.chat_render, slmbench.jetson, slmbench.power, "
            "slmbench.serving, slmbench.power_modes, slmbench.mode_order; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
