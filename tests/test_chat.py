"""Chat formatting through slmbench.chat and llama-cpp-python's Jinja formatter.

The templates below are small equivalents written for these tests that behave like each family's: a
Gemma-like one that refuses the system role, a Phi-3.5-like one ending turns with <|end|>, a Qwen3-like one
that pre-fills an empty <think> block when `enable_thinking` is false.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_helpers import inference_settings
from slmbench.chat import (
    ChatTemplate,
    build_formatter,
    fold_system_into_user,
    jinja_template,
    prompt_opens_thinking,
    split_thinking,
    stop_token_ids,
    user_messages,
)
from slmbench.errors import UserError

GEMMA_LIKE = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ raise_exception('this model has no system role') }}{% endif %}"
    "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else 'user') + '\n' + m['content']"
    " + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
PHI_LIKE = (
    "{% for m in messages %}"
    "{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)
QWEN3_LIKE = (
    "{% for m in messages %}"
    "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\n\n</think>\n\n' }}{% endif %}"
    "{% endif %}"
)
# a template whose generation prompt opens a <think> block the model has to continue (Gemma turns, which the
# tiny test model follows)
THINK_OPENING = GEMMA_LIKE.replace("{{ '<start_of_turn>model\n' }}", "{{ '<start_of_turn>model\n<think>\n' }}")

SYSTEM_AND_USER = user_messages("What is 2+2?", system="Answer briefly.")


def test_gemma_like_template_gets_the_system_text_folded_into_the_user_turn():
    chat = jinja_template(GEMMA_LIKE, "test", bos_token="<bos>", eos_token="<eos>")
    assert chat.folds_system
    prompt = chat.render(SYSTEM_AND_USER)
    assert prompt.text == ("<bos><start_of_turn>user\nAnswer briefly.\n\nWhat is 2+2?<end_of_turn>\n"
                           "<start_of_turn>model\n")
    assert prompt.stop[0] == "<end_of_turn>"


def test_named_gemma_format_that_drops_the_system_role_silently_is_folded_too():
    from slmbench.chat import _named_formatter

    chat = ChatTemplate(_named_formatter("gemma"), "chat_format gemma")
    assert chat.folds_system
    text = chat.render(SYSTEM_AND_USER).text
    assert "Answer briefly.\n\nWhat is 2+2?" in text and text.endswith("<start_of_turn>model\n")


def test_phi_like_template_stops_at_end_and_keeps_its_system_role():
    chat = jinja_template(PHI_LIKE, "test", eos_token="<|endoftext|>")
    assert not chat.folds_system and chat.turn_end == "<|end|>"
    prompt = chat.render(SYSTEM_AND_USER)
    assert prompt.text == "<|system|>\nAnswer briefly.<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n"
    assert prompt.stop == ["<|end|>", "<|endoftext|>"]


def test_qwen3_like_template_runs_with_thinking_disabled():
    thinking_off = jinja_template(QWEN3_LIKE, "test", template_kwargs={"enable_thinking": False}).render(
        user_messages("Hi"))
    assert thinking_off.text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    assert not prompt_opens_thinking(thinking_off.text)
    assert thinking_off.stop == ["<|im_end|>"]
    default = jinja_template(QWEN3_LIKE, "test").render(user_messages("Hi"))
    assert default.text.endswith("<|im_start|>assistant\n") and "<think>" not in default.text
    opened = jinja_template(THINK_OPENING, "test").render(user_messages("Hi"))
    assert opened.text.endswith("<start_of_turn>model\n<think>\n")
    assert prompt_opens_thinking(opened.text)


def test_the_study_config_disables_qwen3_thinking(repo_root):
    import yaml

    config = yaml.safe_load((repo_root / "config/config.yaml").read_text())
    qwen3 = [m for m in config["models"] if m["id"].startswith("qwen3")]
    assert qwen3 and all(m["chat_template_kwargs"] == {"enable_thinking": False} for m in qwen3)


@pytest.mark.parametrize("text, opened, answer, thinking", [
    ("plain answer ", False, "plain answer ", ""),
    ("<think>\nlet me see\n</think>\n\nFour.", False, "Four.", "let me see"),
    ("<think>\n\n</think>\n\nFour.", False, "Four.", ""),
    ("still thinking when the budget ran out", True, "", "still thinking when the budget ran out"),
    ("hmm</think>Four.", True, "Four.", "hmm"),
    ("<think>a</think>Four<think>b</think>.", False, "Four.", "ab"),
    ("<think>never closed", False, "", "never closed"),
])
def test_split_thinking(text, opened, answer, thinking):
    assert split_thinking(text, opened) == (answer, thinking)


def test_fold_without_a_user_turn_makes_one():
    assert fold_system_into_user([{"role": "system", "content": "S"}]) == [{"role": "user", "content": "S"}]


def test_template_errors_are_one_line_naming_the_source(tmp_path):
    with pytest.raises(UserError, match=r"chat template of my.jinja is not valid Jinja"):
        jinja_template("{% for m in messages %}", "my.jinja")
    failing = jinja_template("{{ raise_exception('no tools here') }}", "my.jinja")
    with pytest.raises(UserError, match=r"chat template of my.jinja failed to render \(no tools here\)"):
        failing.render(user_messages("x"))


@pytest.fixture(scope="module")
def tiny_llm(tiny_model):
    from llama_cpp import Llama

    return Llama(model_path=str(tiny_model), n_ctx=256, n_threads=2, verbose=False)


def test_a_model_without_template_or_override_is_an_error_not_a_fallback(tiny_llm):
    assert not tiny_llm.metadata.get("tokenizer.chat_template")
    with pytest.raises(UserError, match=r"no tokenizer.chat_template; set models\[\].chat_format"):
        build_formatter(tiny_llm, None)


def test_override_file_wins_and_both_overrides_at_once_are_refused(tiny_llm, tmp_path):
    template = tmp_path / "gemma_like.jinja"
    template.write_text(GEMMA_LIKE)
    chat = build_formatter(tiny_llm, None, chat_template=template)
    assert chat.render(user_messages("Hi")).text == "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    with pytest.raises(UserError, match="both chat_template .* and chat_format"):
        build_formatter(tiny_llm, "gemma", chat_template=template)
    with pytest.raises(UserError, match="cannot read .*missing.jinja"):
        build_formatter(tiny_llm, None, chat_template=tmp_path / "missing.jinja")
    with pytest.raises(UserError, match="unknown chat_format 'gemmma'.*gemma"):
        build_formatter(tiny_llm, "gemmma")


def test_a_turn_end_that_is_one_special_token_stops_by_id(tiny_llm):
    # Gemma's vocabulary has <end_of_turn> as one special token; <|end|> is plain text there
    ids = stop_token_ids(tiny_llm, ["<end_of_turn>", "<|end|>"])
    assert len(ids) == 1 and tiny_llm.detokenize(ids, special=True) == b"<end_of_turn>"


def _shard(tmp_path: Path, model: Path, template: str, kwargs) -> list:
    """One real shard through the inference command line, with a template override file."""
    (tmp_path / "t.jinja").write_text(template)
    prompts = tmp_path / "p.csv"
    prompts.write_text("question_id,category,level,prompt\n1,math,L0,What is two plus two?\n")
    settings = inference_settings(max_tokens=8, n_ctx=256, n_gpu_layers=0, n_threads=2, warmup=False,
                                  power={"backend": "none"})
    out = tmp_path / "shard.jsonl"
    proc = subprocess.run([sys.executable, "-m", "slmbench.inference", "--prompts", str(prompts), "--model-id", "t",
                           "--model-file", str(model), "--level", "L0", "--category", "math",
                           "--chat-template", str(tmp_path / "t.jinja"), "--chat-template-kwargs", json.dumps(kwargs),
                           "--settings", json.dumps(settings), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_shard_with_thinking_disabled_has_no_thinking_tokens(tmp_path, tiny_model):
    (record,) = _shard(tmp_path, tiny_model, QWEN3_LIKE, {"enable_thinking": False})
    assert record["status"] == "ok" and record["thinking_tokens"] == 0
    assert "<think>" not in record["output"] and record["completion_tokens"] > 0
    # an override file: its text is what the record's sha256 is of
    assert record["chat_template_source"] == "file"
    assert record["chat_template_sha256"] == hashlib.sha256(QWEN3_LIKE.encode("utf-8")).hexdigest()


def test_a_named_chat_format_is_hashed_by_its_llama_cpp_python_source(tiny_llm):
    import inspect

    from llama_cpp import llama_chat_format

    chat = build_formatter(tiny_llm, "gemma")
    assert chat.origin == "chat_format"
    source = inspect.getsource(llama_chat_format.format_gemma)
    assert chat.sha256 == hashlib.sha256(source.encode("utf-8")).hexdigest()


def test_thinking_that_eats_the_budget_is_cut_from_the_output_and_counted(tmp_path, tiny_model):
    (record,) = _shard(tmp_path, tiny_model, THINK_OPENING, None)
    assert record["status"] == "ok" and record["completion_tokens"] == 8 and record["finish_reason"] == "length"
    # the prompt opened <think>; the tiny model never closes it in 8 tokens: all of it is thinking
    assert record["output"] == "" and 0 < record["thinking_tokens"] <= 10
