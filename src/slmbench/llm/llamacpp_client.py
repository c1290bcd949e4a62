"""A GGUF run in-process by llama.cpp as a ChatClient: offline, one request at a time, a reply schema
enforced by llama.cpp's grammar.

Whether the chat template has a system role is found out the way inference does it (chat.py renders probe
conversations), not guessed from the format's name: a template without one (Gemma's) gets the system
text folded into the first user turn, and the reply says so in the messages it reports as sent.
"""

from __future__ import annotations

import os
import threading
from typing import List, Mapping, Optional

from ..chat import build_formatter, fold_system_into_user
from ..errors import UserError
from .client import ChatReply, ReplySchema

N_CTX = 2048  # the context a judge or writer prompt needs (rubric + question + answer); `n_ctx` overrides it


class LlamaCppClient:
    REQUIRED = ("model", "model_path", "chat_format", "temperature", "max_tokens")

    @staticmethod
    def identity(settings: Mapping) -> str:
        path = settings["model_path"] or ""
        size = os.path.getsize(path) if path and os.path.exists(path) else "missing"
        # the file's name and size, not its hash: cheap, and the same after a copy
        return (f"llamacpp|{settings['model']}|{os.path.basename(path)}:{size}|{settings['chat_format']}|"
                f"temperature={settings['temperature']}")

    def __init__(self, settings: Mapping):
        from llama_cpp import Llama

        path = settings["model_path"]
        if not path or not os.path.exists(path):
            raise UserError(f"judge.model_path {path!r} does not exist; point it at a GGUF file")
        self.settings = settings
        # n_threads: the job's CPU share, set by the workflow; None lets llama.cpp choose
        self.llm = Llama(model_path=path, n_ctx=settings.get("n_ctx") or N_CTX, chat_format=settings["chat_format"],
                         n_threads=settings.get("n_threads"), seed=0, verbose=False)
        self.folds_system = _folds_system(self.llm, settings["chat_format"], path)
        self.endpoint = "in-process"

    def complete(self, messages: List[dict], *, stop: Optional[threading.Event] = None,
                 schema: Optional[ReplySchema] = None, max_tokens: Optional[int] = None) -> ChatReply:
        # `stop` is not consulted: one local request, no retries to cut short
        sent = fold_system_into_user(messages) if self.folds_system else list(messages)
        self.llm.reset()
        response = self.llm.create_chat_completion(
            messages=sent, temperature=self.settings["temperature"],
            max_tokens=self.settings["max_tokens"] if max_tokens is None else max_tokens,
            response_format={"type": "json_object", "schema": schema.for_grammar} if schema is not None else None)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return ChatReply(text=choice["message"]["content"] or "", messages=sent,
                         usage={k: usage[k] for k in ("prompt_tokens", "completion_tokens") if k in usage},
                         model=self.settings["model"], finish_reason=choice.get("finish_reason"),
                         endpoint=self.endpoint)


def _folds_system(llm, chat_format: Optional[str], path: str) -> bool:
    """True when the template in use has no system role (probed by chat.py, as inference does)."""
    if not chat_format and not llm.metadata.get("tokenizer.chat_template"):
        # llama.cpp would fall back to a generic format: the wrong template quietly ruins the replies
        raise UserError(f"judge.model_path {path}: the GGUF has no tokenizer.chat_template; set judge.chat_format "
                        f"(e.g. gemma, chatml)")
    try:
        return build_formatter(llm, chat_format).folds_system
    except UserError as exc:
        raise UserError(f"judge.chat_format: {exc}") from None
