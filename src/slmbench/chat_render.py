"""`slmbench models render`: the exact text a model receives for a prompt, before hours of inference.

It loads only the GGUF's vocabulary (no weights: a second even for a 3 GB file), builds the chat template
the way an inference shard does (slmbench.chat), and prints one summary line (token count, stops, where the
template came from), the text as a JSON string (every newline visible) and the text as it is. The doctor
runs it in the inference interpreter (`python -m slmbench.chat_render`), whose llama-cpp-python renders
the shards. Stdlib + llama_cpp only, Python 3.10 compatible.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, List, Optional

from .errors import UserError

TEXT_RULE = "-----"  # the line before and after the text as the model reads it


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the GGUF file (only its vocabulary and metadata are read)")
    parser.add_argument("--prompt", required=True, help="the user message to render, e.g. \"Hi there\"")
    parser.add_argument("--chat-format", dest="chat_format", default=None,
                        help="as models[].chat_format: a llama-cpp-python chat format name instead of the GGUF's "
                             "template (default: the GGUF's tokenizer.chat_template)")
    parser.add_argument("--chat-template", dest="chat_template", default=None,
                        help="as models[].chat_template: a Jinja file that replaces the GGUF's template")
    parser.add_argument("--chat-template-kwargs", dest="chat_template_kwargs", default=None,
                        help="as models[].chat_template_kwargs: a JSON object of template variables, e.g. "
                             "'{\"enable_thinking\": false}' for Qwen3")


def parse_kwargs(text: Optional[str]) -> Optional[dict]:
    """--chat-template-kwargs: a JSON object (or null / empty for none)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UserError(f"--chat-template-kwargs: not valid JSON ({exc}); give an object such as "
                        f"'{{\"enable_thinking\": false}}'") from None
    if value is not None and not isinstance(value, dict):
        raise UserError(f"--chat-template-kwargs: {text} is not a JSON object; give one such as "
                        f"'{{\"enable_thinking\": false}}'")
    return value or None


class Vocabulary:
    """What slmbench.chat uses of a llama_cpp.Llama (tokenize, BOS/EOS, metadata, `_model`), from a
    vocabulary-only load: no weights and no context, so no llama.cpp warning about a context the render
    never uses. `_model` is the llama_cpp._internals.LlamaModel that a Llama keeps in the same attribute."""

    def __init__(self, model: Any, model_path: Optional[str] = None):
        self._model = model
        self.metadata = model.metadata()
        self.model_path = model_path  # as a Llama names its file (slmbench.chat names it in errors)

    def token_bos(self) -> int:
        return self._model.token_bos()

    def token_eos(self) -> int:
        return self._model.token_eos()

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> List[int]:
        return self._model.tokenize(text, add_bos, special)

    def detokenize(self, tokens: List[int], special: bool = False) -> bytes:
        return self._model.detokenize(tokens, special)


def load_vocab(model: Path) -> Vocabulary:
    """The vocabulary and metadata of the GGUF `model`, without its weights."""
    model = Path(model)
    if not model.is_file():
        raise UserError(f"model file {model} does not exist; give the path of a GGUF file")
    import llama_cpp
    from llama_cpp._internals import LlamaModel

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    try:
        return Vocabulary(LlamaModel(path_model=str(model), params=params, verbose=False), str(model))
    except (ValueError, RuntimeError) as exc:
        raise UserError(f"could not read the vocabulary of {model} ({exc}); check the file with "
                        f"`slmbench models verify {model}`") from None


def render_report(model: Path, prompt: str, chat_format: Optional[str] = None,
                  chat_template: Optional[Path] = None, template_kwargs: Optional[dict] = None) -> List[str]:
    """The lines `slmbench models render` prints; the first one sums it up (the doctor shows it)."""
    from .chat import build_formatter, prompt_tokens, stop_token_id, user_messages

    llm = load_vocab(model)
    try:
        chat = build_formatter(llm, chat_format, template_kwargs, Path(chat_template) if chat_template else None)
        rendered = chat.render(user_messages(prompt))
    except UserError as exc:
        raise UserError(str(exc) if Path(model).name in str(exc) else f"{Path(model).name}: {exc}") from None
    tokens = prompt_tokens(llm, rendered.text)
    stops = []
    for stop in rendered.stop:
        token = stop_token_id(llm, stop)
        stops.append(f"{json.dumps(stop)} ({f'token {token}' if token is not None else 'string'})")
    sha = f"sha256 {chat.sha256[:16]}" if chat.sha256 else "no sha256"
    kwargs = f", kwargs {json.dumps(template_kwargs, sort_keys=True)}" if template_kwargs else ""
    summary = (f"{Path(model).name}: {len(tokens)} prompt tokens ({_bos_note(llm, tokens, rendered.text)}); "
               f"stops {', '.join(stops) or 'none'}; template {chat.origin} ({sha}{kwargs})")
    text = rendered.text if rendered.text.endswith("\n") else rendered.text + "\n"
    return [summary, f"text (JSON): {json.dumps(rendered.text, ensure_ascii=False)}",
            f"{TEXT_RULE} the text as the model reads it {TEXT_RULE}", *text.split("\n")[:-1], TEXT_RULE]


def _bos_note(llm: Any, tokens: List[int], text: str) -> str:
    from .chat import _special_text

    bos = llm.token_bos()
    if not tokens or bos < 0 or tokens[0] != bos:
        return "no BOS"
    return "BOS from the template" if text.startswith(_special_text(llm, bos)) else "BOS added by the tokenizer"


def cmd_render(args) -> int:
    lines = render_report(Path(args.model), args.prompt, args.chat_format or None, args.chat_template or None,
                          parse_kwargs(args.chat_template_kwargs))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """For the inference interpreter (the doctor): `python -m slmbench.chat_render MODEL --prompt TEXT`."""
    parser = argparse.ArgumentParser(prog="python -m slmbench.chat_render", description=__doc__.splitlines()[0])
    add_arguments(parser)
    from .cli import run

    return run(cmd_render, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
