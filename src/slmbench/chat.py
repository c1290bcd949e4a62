"""Turn a prompt into the exact token sequence a chat model expects. Python 3.10 compatible.

The template comes from the GGUF's `tokenizer.chat_template` (rendered by llama-cpp-python's Jinja
formatter) unless the config names a llama-cpp-python chat format. A model with neither is an error,
never a silent generic fallback: the wrong template quietly ruins a model's answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from .errors import UserError


@dataclass
class ChatPrompt:
    text: str  # the templated prompt, as the model sees it
    stop: List[str] = field(default_factory=list)  # extra stop strings the template declares


def _named_formatter(name: str):
    """The formatter function behind a llama-cpp-python chat format name ("gemma", "llama-2", "chatml"...)."""
    from llama_cpp import llama_chat_format as lcf

    def norm(s: str) -> str:
        return s.replace("-", "").replace("_", "").lower()

    formatters = {norm(attr[len("format_"):]): getattr(lcf, attr) for attr in dir(lcf) if attr.startswith("format_")}
    try:
        return formatters[norm(name)]
    except KeyError:
        known = ", ".join(sorted(formatters))
        raise UserError(f"unknown chat_format '{name}' (models[].chat_format); known: {known}") from None


def build_formatter(llm: Any, chat_format: Optional[str], template_kwargs: Optional[dict] = None):
    """A callable messages -> ChatPrompt for this model."""
    from llama_cpp import llama_chat_format as lcf

    if chat_format:
        formatter = _named_formatter(chat_format)
    else:
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise UserError(
                "the model's GGUF has no tokenizer.chat_template; set models[].chat_format in the config "
                "(e.g. gemma, chatml, llama-2)"
            )
        eos = llm._model.token_get_text(llm.token_eos()) if llm.token_eos() >= 0 else ""
        bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
        formatter = lcf.Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    extra = dict(template_kwargs or {})

    def render(messages: List[dict]) -> ChatPrompt:
        response = formatter(messages=messages, **extra)
        stop = response.stop or []
        if isinstance(stop, str):
            stop = [stop]
        return ChatPrompt(text=response.prompt, stop=list(stop))

    return render


def user_messages(prompt: str, system: Optional[str] = None) -> List[dict]:
    messages = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    return messages
