"""A chat template is code from the GGUF's author (issue 27): it renders under a deadline and a size cap, and a
template that passes either is one line naming the GGUF, in `slmbench models render` and in a shard (<= 30 s),
never a hang or a 300 MB prompt."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_helpers import inference_settings
from slmbench import chat
from slmbench.errors import UserError

SRC = str(Path(__file__).resolve().parents[1] / "src")
NESTED = ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
          "{% for m in messages %}{{ m['content'] }}{% endfor %}")
NESTED_OVER_A_LIST = "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}x"
GOOD = "{% for m in messages %}<turn>{{ m['role'] }}\n{{ m['content'] }}<end>\n{% endfor %}<turn>assistant\n"
HUGE = ["{{ 'a' * 300000000 }}", "{{ 300000000 * 'a' }}", "{{ 'a'.ljust(300000000) }}",
        "{{ 'a'|center(300000000) }}", "{% for i in range(100000) %}{{ 'abcdefghij' * 100 }}{% endfor %}",
        "{{ messages * 10000000 }}"]


def render(template: str):
    return chat.jinja_template(template, "tiny.gguf (tokenizer.chat_template)").render(
        [{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("template", [NESTED, NESTED_OVER_A_LIST])
def test_a_loop_that_does_not_end_is_one_line_at_the_deadline(template, monkeypatch):
    monkeypatch.setattr(chat, "RENDER_DEADLINE_S", 0.5)
    t0 = time.monotonic()
    with pytest.raises(UserError) as err:
        render(template)
    assert time.monotonic() - t0 < 10  # the probes share the one deadline: not three in a row
    message = str(err.value)
    assert "tiny.gguf" in message and "did not finish rendering within 0.5 s" in message and "\n" not in message


@pytest.mark.parametrize("template", HUGE)
def test_a_template_that_grows_past_the_cap_is_refused_before_it_is_made(template):
    t0 = time.monotonic()
    with pytest.raises(UserError, match="would render more than 1,000,000 characters") as err:
        render(template)
    assert time.monotonic() - t0 < 20 and "tiny.gguf" in str(err.value)


def test_an_ordinary_template_renders_as_llama_cpp_python_renders_it_and_the_trace_is_restored():
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    before = sys.gettrace()
    prompt = render(GOOD)
    plain = Jinja2ChatFormatter(template=GOOD, eos_token="", bos_token="")(messages=[{"role": "user", "content": "hi"}])
    assert prompt.text == plain.prompt == "<turn>user\nhi<end>\n<turn>assistant" and prompt.stop == ["<end>"]
    assert sys.gettrace() is before


# --- a GGUF carrying such a template, as it arrives on the board ------------------------------------------------

@pytest.fixture(scope="module")
def looping_gguf(tiny_model, tmp_path_factory):
    """A copy of the tiny GGUF whose tokenizer.chat_template loops (gguf-new-metadata, ~25 s of CPU; kept beside
    pytest's temporary folders by the hash of its template, as conftest's real_template_model does)."""
    folder = tmp_path_factory.getbasetemp().parent / "slmbench-real-templates"
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{tiny_model.stat().st_size}:{NESTED}".encode()).hexdigest()[:16]
    copy = folder / f"tiny-looping-{key}.gguf"
    if not copy.exists():
        template = tmp_path_factory.mktemp("looping") / "looping.jinja"
        template.write_text(NESTED)
        part = copy.with_name(f".{copy.name}.{os.getpid()}.part")
        tool = Path(sys.executable).with_name("gguf-new-metadata")
        proc = subprocess.run([str(tool), str(tiny_model), str(part), "--chat-template-file", str(template),
                               "--force"], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        os.replace(part, copy)
    return copy


def test_models_render_of_a_looping_template_fails_in_one_line_within_30_s(looping_gguf):
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "models", "render", str(looping_gguf), "--prompt",
                           "Hi there"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": SRC})
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2 and elapsed <= 30, (elapsed, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and looping_gguf.name in lines[0] and "did not finish rendering within" in lines[0]


def test_a_shard_with_a_looping_template_fails_in_one_line_within_30_s_and_writes_nothing(looping_gguf, tmp_path):
    prompts = tmp_path / "math_prompts_hierarchical.csv"
    prompts.write_text("question_id,category,level,prompt\n1,math,L0,What is 2+2?\n")
    out = tmp_path / "shard.jsonl"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "slmbench.inference", "--prompts", str(prompts), "--model-id", "tiny",
         "--model-file", str(looping_gguf), "--level", "L0", "--category", "math", "--out", str(out),
         "--settings", json.dumps(inference_settings(power={"backend": "none"}))],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": SRC})
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2 and elapsed <= 30, (elapsed, proc.stderr)
    # llama.cpp itself may say a word while the model loads (its C log); slmbench says one line, no traceback
    lines = [line for line in proc.stderr.splitlines() if line.startswith("slmbench")]
    assert len(lines) == 1 and looping_gguf.name in lines[0] and "did not finish rendering" in lines[0], lines
    assert "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".shard.jsonl*"))
