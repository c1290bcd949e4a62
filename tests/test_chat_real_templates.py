"""The study models' real chat templates (../shared/data/chat_templates), each inside a copy of the tiny GGUF
as `tokenizer.chat_template`, rendered by the project's own formatter with no chat_format setting.

The expected texts are those SOURCE.md gives for `messages=[{"role": "user", "content": "Hi there"}]`; the
copies keep the tiny model's Gemma vocabulary, so `<end_of_turn>` is one token there and `<|end|>` is not.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from pipeline_helpers import REPO
from slmbench.chat import build_formatter, prompt_tokens, stop_token_id, user_messages
from slmbench.chat_render import load_vocab
from slmbench.doctor import check_templates
from slmbench.inference import run_shard
from slmbench.prompt_rows import PromptRow
from slmbench.records import RUN_RECORD_FIELDS
from test_inference import records as shard_records
from test_inference import spec as inference_spec

GEMMA2 = "<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n"
PHI35 = "<|user|>\nHi there<|end|>\n<|assistant|>\n"
QWEN3 = "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"
QWEN3_NO_THINKING = QWEN3 + "<think>\n\n</think>\n\n"
QWEN15 = ("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
          "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n")
THINKING_OFF = {"enable_thinking": False}

# template file, template kwargs, the exact text, what the summary line says about BOS and stops
CASES = {
    "gemma-2": ("gemma-2-2b-it", None, GEMMA2, "BOS from the template", '"<end_of_turn>" (token 106)'),
    "phi-3.5": ("phi-3.5-mini-instruct", None, PHI35, "BOS added by the tokenizer", '"<|end|>" (string)'),
    "qwen3": ("qwen3", None, QWEN3, "BOS added by the tokenizer", '"<|im_end|>" (string)'),
    "qwen3-no-thinking": ("qwen3", THINKING_OFF, QWEN3_NO_THINKING, "BOS added by the tokenizer",
                          '"<|im_end|>" (string)'),
    "qwen1.5": ("qwen1.5-chat", None, QWEN15, "BOS added by the tokenizer", '"<|im_end|>" (string)'),
}


def render_cli(model: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slmbench.cli", "models", "render", str(model), *options],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", list(CASES))
def test_models_render_prints_the_exact_text_of_each_real_template(case, real_template_model):
    name, kwargs, expected, bos, stop = CASES[case]
    model, template = real_template_model(name)
    options = ["--prompt", "Hi there"]
    if kwargs:
        options += ["--chat-template-kwargs", json.dumps(kwargs)]
    proc = render_cli(model, *options)
    assert proc.returncode == 0, proc.stderr
    summary, text_line, _rule, *raw = proc.stdout.split("\n")
    assert text_line == "text (JSON): " + json.dumps(expected)
    # and as it is, between the rules
    assert "\n".join(raw) == expected + "-----\n"
    sha = hashlib.sha256(template.encode("utf-8")).hexdigest()
    assert summary.startswith(f"{model.name}: ") and f"({bos})" in summary and stop in summary
    assert f"template gguf (sha256 {sha[:16]}" in summary


def test_gemma2_has_one_bos_and_takes_system_text_in_the_user_turn(real_template_model):
    model, _ = real_template_model("gemma-2-2b-it")
    llm = load_vocab(model)
    chat = build_formatter(llm, None)
    assert chat.origin == "gguf" and chat.folds_system
    tokens = prompt_tokens(llm, chat.render(user_messages("Hi there")).text)
    assert tokens[0] == llm.token_bos() and tokens.count(llm.token_bos()) == 1
    # the real template raises "System role not supported"; the project folds the text in instead
    folded = chat.render(user_messages("Hi there", system="Answer briefly.")).text
    assert folded == "<bos><start_of_turn>user\nAnswer briefly.\n\nHi there<end_of_turn>\n<start_of_turn>model\n"


def test_phi35_stops_at_end_by_token_where_the_vocabulary_has_it_and_by_string_otherwise(real_template_model):
    model, _ = real_template_model("phi-3.5-mini-instruct")
    llm = load_vocab(model)
    chat = build_formatter(llm, None)
    assert chat.turn_end == "<|end|>" and not chat.folds_system
    assert chat.render(user_messages("Hi there")).stop[0] == "<|end|>"
    assert stop_token_id(llm, "<|end|>") is None  # Gemma's vocabulary spells it in several tokens: a string stop
    assert llm.detokenize([stop_token_id(llm, "<end_of_turn>")], special=True) == b"<end_of_turn>"
    assert chat.render(user_messages("Hi there", system="Answer briefly.")).text == (
        "<|system|>\nAnswer briefly.<|end|>\n" + PHI35)


def test_qwen15_keeps_its_own_default_system_turn_and_a_given_one(real_template_model):
    model, _ = real_template_model("qwen1.5-chat")
    chat = build_formatter(load_vocab(model), None)
    assert chat.render(user_messages("Hi there")).text == QWEN15
    given = chat.render(user_messages("Hi there", system="Answer briefly.")).text
    assert given.startswith("<|im_start|>system\nAnswer briefly.<|im_end|>\n") and "helpful" not in given


def test_doctor_shows_the_first_render_line_of_each_present_model(real_template_model, tmp_path):
    qwen3, _ = real_template_model("qwen3")
    gemma2, _ = real_template_model("gemma-2-2b-it")
    models = [
        {"id": "qwen3-4b", "file": qwen3.name, "chat_format": None, "chat_template": None,
         "chat_template_kwargs": THINKING_OFF},
        {"id": "gemma2-2b", "file": gemma2.name, "chat_format": "gemmma", "chat_template": None,
         "chat_template_kwargs": None},
        {"id": "absent", "file": "absent.gguf", "chat_format": None, "chat_template": None,
         "chat_template_kwargs": None},
    ]
    config = {"inference": {"python": None}, "models_dir": str(qwen3.parent), "models": models}
    checks = {c.name: c for c in check_templates(config)}
    assert set(checks) == {"template qwen3-4b", "template gemma2-2b"}  # a missing file is check_models' to report
    ok = checks["template qwen3-4b"]
    assert ok.status == "ok" and ok.detail.startswith(f"{qwen3.name}: ") and "prompt tokens" in ok.detail
    assert '"enable_thinking": false' in ok.detail
    bad = checks["template gemma2-2b"]
    assert bad.status == "fail" and "\n" not in bad.detail
    assert bad.detail.startswith(f"{gemma2.name}: unknown chat_format 'gemmma' (models[].chat_format)")


def test_doctor_fails_a_model_without_any_template(tiny_model):
    config = {"inference": {"python": None}, "models_dir": str(tiny_model.parent),
              "models": [{"id": "base", "file": tiny_model.name, "chat_format": None, "chat_template": None,
                          "chat_template_kwargs": None}]}
    (check,) = check_templates(config)
    assert check.status == "fail" and "no tokenizer.chat_template" in check.detail


@pytest.mark.parametrize("options, message", [
    (["--chat-template-kwargs", "{enable_thinking: false}"], "--chat-template-kwargs: not valid JSON"),
    (["--chat-template-kwargs", "[1]"], "--chat-template-kwargs: [1] is not a JSON object"),
    (["--chat-template", "missing.jinja"],
     "gemma-3-270m-q4_k_m.gguf: models[].chat_template: cannot read missing.jinja"),
    ([], "gemma-3-270m-q4_k_m.gguf: the model's GGUF has no tokenizer.chat_template; set models[].chat_format"),
])
def test_render_bad_options_are_one_line(options, message, tiny_model):
    proc = render_cli(tiny_model, "--prompt", "Hi", *options)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"slmbench: error: {message}") and proc.stderr.count("\n") == 1


def test_render_of_a_missing_model_file_names_it(tmp_path):
    proc = render_cli(tmp_path / "nope.gguf", "--prompt", "Hi")
    assert proc.returncode == 2 and f"model file {tmp_path / 'nope.gguf'} does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_render_option_has_help():
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "models", "render", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    options = proc.stdout.split("options:", 1)[1]
    for option in ("--prompt", "--chat-format", "--chat-template", "--chat-template-kwargs"):
        # the option's entry: its metavar, then the help text (argparse prints no text for an option without)
        entry = options.split(f"\n  {option} ", 1)[1].split("\n  -", 1)[0]
        assert len(entry.split()) > 4, option


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs", [("gemma-2-2b-it", None), ("phi-3.5-mini-instruct", None),
                                          ("qwen3", THINKING_OFF), ("qwen1.5-chat", None)])
def test_a_shard_on_each_real_template_records_its_provenance(name, kwargs, real_template_model, tmp_path):
    model, template = real_template_model(name)
    # no chat_format: the template is the GGUF's; a few tokens are enough to see the shard complete
    run_shard(inference_spec(tmp_path, model, chat_format=None, chat_template_kwargs=kwargs,
                             settings_changes={"max_tokens": 4, "warmup": False}))
    schema = yaml.safe_load((REPO / "workflow/schemas/run_record.schema.yaml").read_text())
    for record in shard_records(tmp_path / "shard.jsonl"):
        assert record["status"] == "ok", record["error"]
        assert record["completion_tokens"] > 0
        assert record["chat_template_sha256"] == hashlib.sha256(template.encode("utf-8")).hexdigest()
        assert record["chat_template_source"] == "gguf"
        assert list(record) == RUN_RECORD_FIELDS
        jsonschema.validate(record, schema)


@pytest.mark.slow
def test_a_think_block_written_despite_thinking_off_is_cut_and_counted(real_template_model, tmp_path):
    """The tiny model never writes <think>, so its generation is replaced by one that does; the prompt, the
    template and the cutting and counting are the real ones."""
    from slmbench.inference import ShardRunner
    from slmbench.power import open_sampler

    model, _ = real_template_model("qwen3")
    spec = inference_spec(tmp_path, model, chat_format=None, chat_template_kwargs=THINKING_OFF,
                          settings_changes={"max_tokens": 16})
    written = "<think>\nTwo and two make four.\n</think>\n\nFour."

    class ThinkingAnyway(ShardRunner):
        def generate(self, tokens, stop, max_tokens):
            self.seen_prompt = self.llm.detokenize(tokens, special=True).decode()
            return {"text": written, "completion_tokens": 20, "finish_reason": "stop", "latency_s": 0.1,
                    "ttft_s": 0.01, "prefill_tok_s": None, "decode_tok_s": None}

    with open_sampler(backend="none", interval_ms=100) as sampler:
        runner = ThinkingAnyway(spec, sampler)
        record = runner.run(PromptRow(question_id=1, category="math", level="L0", prompt="Hi there"))
    assert runner.seen_prompt.endswith(QWEN3_NO_THINKING)
    assert record.output == "Four."
    assert record.thinking_tokens == runner.count_tokens("Two and two make four.") > 0
