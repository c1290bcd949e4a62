"""Judge backends behind one small interface, registered by name.

`complete(messages, stop) -> JudgeReply`: one chat call that should return the verdict JSON; `stop` (set when
another worker hit a fatal error) ends its retries. `judge_identity(settings)` names the judge in cache keys.
Backends raise UserError for what the user must fix (bad key, unknown model or URL); transient faults (429,
5xx, timeouts, refused connections) are retried (retry.py) and end in one UserError line if they persist.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional
from urllib.parse import urlparse

from ..errors import UserError
from .retry import Backoff, Transient, retry_after_seconds, with_retries
from .rubric import VERDICT_SCHEMA, grammar_schema

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
# Structured-output modes, best first. An endpoint that refuses one is asked in the next from then on:
# llama-cpp-python's server answers json_schema with HTTP 500 ("Input should be 'text' or 'json_object'")
# but constrains a json_object reply to a "schema" given beside it (so does llama.cpp's llama-server);
# plain JSON-object mode is the last resort (valid JSON, any keys: the verdict check catches the rest).
MODES = ("json_schema", "json_object+schema", "json_object")
# Words in an error that says the endpoint cannot do the structured-output mode it was asked for.
MODE_REFUSED_HINTS = ("response_format", "json_schema", "schema", "grammar")


@dataclass
class JudgeReply:
    text: str
    model: str  # as returned by the endpoint
    endpoint: str
    usage: Dict[str, int] = field(default_factory=dict)


class ModeRefused(Exception):
    """The endpoint cannot do the structured-output mode asked for: ask again in the next (not a retry)."""


class FatalJudgeError(UserError):
    """The endpoint refuses every request (key, model, URL): no other request should be sent."""


def endpoint_label(base_url: Optional[str]) -> str:
    """Host and path of the endpoint, never its query string or credentials (a key can hide in either)."""
    url = urlparse(base_url or DEFAULT_OPENAI_URL)
    host = url.hostname or ""
    return f"{host}:{url.port}{url.path}" if url.port else f"{host}{url.path}"


def judge_identity(settings: dict) -> str:
    """What makes two judges give different verdicts: backend, model, endpoint or GGUF, chat format and
    temperature. Part of every cache key, so a verdict is never reused for another judge. Computed from the
    settings alone: checking the cache needs no key and loads no model."""
    temperature = settings.get("temperature", 0)
    if settings.get("backend") == "llamacpp":
        path = settings.get("model_path") or ""
        size = os.path.getsize(path) if path and os.path.exists(path) else "missing"
        # the file's name and size, not its hash: cheap, and the same after a copy
        return (f"llamacpp|{settings['model']}|{os.path.basename(path)}:{size}|{settings.get('chat_format')}|"
                f"temperature={temperature}")
    return f"openai|{settings['model']}|{endpoint_label(settings.get('base_url'))}|temperature={temperature}"


class OpenAIJudge:
    """Any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp's server, Ollama)."""

    def __init__(self, settings: dict):
        import openai

        self.settings = settings
        self.key_env = settings.get("api_key_env") or "OPENAI_API_KEY"
        key = os.environ.get(self.key_env)
        base_url = settings.get("base_url")
        if not key:
            if base_url is None:
                raise UserError(f"no API key: set the environment variable {self.key_env} (judge.api_key_env)")
            key = "not-needed"  # local servers accept any key
        self._key = key
        self.endpoint = endpoint_label(base_url)
        # max_retries=0: retries are ours (retry.py), so they honour long Retry-After and stop with the others
        self.client = openai.OpenAI(api_key=key, base_url=base_url, timeout=settings.get("timeout_s", 60),
                                    max_retries=0)
        self.backoff = Backoff(retries=int(settings.get("max_retries", 6)))
        self._openai = openai
        self.mode = 0  # index in MODES: shared by the worker threads, only ever moves down the list
        self._mode_lock = threading.Lock()

    @staticmethod
    def _response_format(mode: str, schema: dict) -> dict:
        if mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}
        if mode == "json_object+schema":
            return {"type": "json_object", "schema": grammar_schema(schema)}
        return {"type": "json_object"}

    @staticmethod
    def _mode_refused(exc) -> bool:
        # by its words, not its status: a 400 for an over-long answer must not downgrade every later request
        text = f"{getattr(exc, 'message', '')} {getattr(exc, 'body', '')}".lower()
        return any(hint in text for hint in MODE_REFUSED_HINTS)

    def _once(self, messages: List[dict], schema: Optional[dict]):
        """One HTTP request; transient faults become Transient, the user's mistakes a FatalJudgeError."""
        openai = self._openai
        mode = self.mode
        extra = {"response_format": self._response_format(MODES[mode], schema)} if schema is not None else {}
        try:
            return self.client.chat.completions.create(
                model=self.settings["model"], messages=messages, temperature=self.settings.get("temperature", 0),
                max_tokens=self.settings.get("max_tokens", 512), **extra)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            # the server's message is not repeated: some echo the key back
            raise FatalJudgeError(f"judge endpoint {self.endpoint} refused the key (HTTP {exc.status_code}); check "
                                  f"the environment variable {self.key_env} (judge.api_key_env)") from None
        except openai.NotFoundError:
            raise FatalJudgeError(f"judge endpoint {self.endpoint}: model '{self.settings['model']}' or URL not "
                                  f"found (HTTP 404); check judge.model and judge.base_url") from None
        except (openai.BadRequestError, openai.InternalServerError) as exc:
            if schema is not None and mode + 1 < len(MODES) and self._mode_refused(exc):
                with self._mode_lock:
                    self.mode = max(self.mode, mode + 1)  # every later request, in every worker, uses the next
                raise ModeRefused() from None
            if exc.status_code >= 500:
                raise Transient(f"HTTP {exc.status_code}", retry_after_seconds(exc.response.headers)) from None
            words = " ".join(str(exc.message).split()).replace(self._key, "***")  # in case the server echoes it
            raise FatalJudgeError(f"judge endpoint {self.endpoint} rejected the request (HTTP 400): "
                                  f"{words[:300]}") from None
        except openai.APIStatusError as exc:
            if exc.status_code in (408, 409, 429) or exc.status_code >= 500:  # timeout, conflict, rate limit
                raise Transient(f"HTTP {exc.status_code}", retry_after_seconds(exc.response.headers)) from None
            raise FatalJudgeError(f"judge endpoint {self.endpoint} answered HTTP {exc.status_code}; check "
                                  f"judge.base_url and judge.model") from None
        except openai.APITimeoutError:
            raise Transient(f"no reply within judge.timeout_s={self.settings.get('timeout_s', 60)} s") from None
        except openai.APIConnectionError as exc:
            raise Transient(f"cannot connect ({type(exc.__cause__ or exc).__name__})") from None

    def complete(self, messages: List[dict], stop: Optional[threading.Event] = None,
                 schema: Optional[dict] = VERDICT_SCHEMA) -> JudgeReply:
        """One chat call with retries; `schema` constrains the reply to JSON (None: free text)."""

        def give_up(fault: Transient, tries: int) -> Exception:
            return UserError(f"judge endpoint {self.endpoint} still failing after {tries} tries ({fault.what}); "
                             f"verdicts so far are cached, rerun later to resume (judge.max_retries, judge.timeout_s)")

        while True:
            try:
                response = with_retries(lambda: self._once(messages, schema), self.backoff, stop or threading.Event(),
                                        give_up)
                break
            except ModeRefused:
                continue  # self.mode has moved on; at most len(MODES) - 1 times
        usage = response.usage
        return JudgeReply(
            text=(response.choices[0].message.content or "") if response.choices else "",
            model=response.model or self.settings["model"], endpoint=self.endpoint,
            usage={"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} if usage else {},
        )


class LlamaCppJudge:
    """A GGUF judged in-process, with the verdict schema enforced by llama.cpp's grammar (offline)."""

    def __init__(self, settings: dict):
        from llama_cpp import Llama

        path = settings.get("model_path")
        if not path or not os.path.exists(path):
            raise UserError(f"judge.model_path {path!r} does not exist; point it at a GGUF file")
        self.settings = settings
        self.llm = Llama(model_path=path, n_ctx=settings.get("n_ctx", 2048), chat_format=settings.get("chat_format"),
                         n_threads=settings.get("n_threads"), seed=0, verbose=False)
        self.endpoint = "in-process"

    def complete(self, messages: List[dict], stop: Optional[threading.Event] = None,
                 schema: Optional[dict] = VERDICT_SCHEMA) -> JudgeReply:
        if self.settings.get("chat_format") == "gemma" and messages[0]["role"] == "system":
            # Gemma has no system role: fold it into the first user turn, keep the rest of the conversation
            first = {"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}
            messages = [first, *messages[2:]]
        self.llm.reset()
        response = self.llm.create_chat_completion(
            messages=messages, temperature=self.settings.get("temperature", 0), max_tokens=self.settings.get("max_tokens", 256),
            response_format={"type": "json_object", "schema": grammar_schema(schema)} if schema is not None else None)
        usage = response.get("usage") or {}
        return JudgeReply(text=response["choices"][0]["message"]["content"] or "", model=self.settings["model"],
                          endpoint=self.endpoint,
                          usage={k: usage[k] for k in ("prompt_tokens", "completion_tokens") if k in usage})


BACKENDS: Dict[str, Callable[[dict], object]] = {"openai": OpenAIJudge, "llamacpp": LlamaCppJudge}


def make_judge(settings: dict):
    name = settings.get("backend", "openai")
    try:
        backend = BACKENDS[name]
    except KeyError:
        raise UserError(f"judge.backend '{name}' is unknown; known: {', '.join(BACKENDS)}") from None
    return backend(settings)
