"""Any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp's server, Ollama) as a ChatClient.

Structured output is asked for in the best mode the endpoint takes (MODES); transient faults (429, 5xx,
timeouts, refused connections) are retried by retry.py and end in one UserError line if they persist; the
user's mistakes (bad key, unknown model or URL) stop at once as a FatalEndpointError.
"""

from __future__ import annotations

import os
import threading
from typing import List, Mapping, Optional
from urllib.parse import urlparse

from ..errors import UserError
from .client import ChatReply, FatalEndpointError, ReplySchema
from .retry import Backoff, Transient, retry_after_seconds, with_retries

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"  # what the openai client calls when base_url is null
# Structured-output modes, best first. An endpoint that refuses one is asked in the next from then on:
# llama-cpp-python's server answers json_schema with HTTP 500 ("Input should be 'text' or 'json_object'")
# but constrains a json_object reply to a "schema" given beside it (so does llama.cpp's llama-server);
# plain JSON-object mode is the last resort (valid JSON, any keys: the caller's check catches the rest).
MODES = ("json_schema", "json_object+schema", "json_object")
# Words in an error that says the endpoint cannot do the structured-output mode it was asked for.
MODE_REFUSED_HINTS = ("response_format", "json_schema", "schema", "grammar")


class ModeRefused(Exception):
    """The endpoint cannot do the structured-output mode asked for: ask again in the next (not a retry)."""


def endpoint_label(base_url: Optional[str]) -> str:
    """Host and path of the endpoint, never its query string or credentials (a key can hide in either)."""
    url = urlparse(base_url or DEFAULT_OPENAI_URL)
    host = url.hostname or ""
    return f"{host}:{url.port}{url.path}" if url.port else f"{host}{url.path}"


def response_format(mode: str, schema: ReplySchema) -> dict:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.name, "schema": schema.schema, "strict": True}}
    if mode == "json_object+schema":  # read by llama.cpp's servers, which build a grammar from it
        return {"type": "json_object", "schema": schema.for_grammar}
    return {"type": "json_object"}


class OpenAIClient:
    REQUIRED = ("model", "base_url", "api_key_env", "temperature", "max_tokens", "timeout_s", "max_retries")

    @staticmethod
    def identity(settings: Mapping) -> str:
        return (f"openai|{settings['model']}|{endpoint_label(settings['base_url'])}|"
                f"temperature={settings['temperature']}")

    def __init__(self, settings: Mapping):
        import openai

        self.settings = settings
        self.key_env = settings["api_key_env"]
        key = os.environ.get(self.key_env)  # the one place a key is read
        base_url = settings["base_url"]
        if not key:
            if base_url is None:
                raise UserError(f"no API key: set the environment variable {self.key_env} (judge.api_key_env)")
            key = "not-needed"  # local servers accept any key
        self._key = key
        self.endpoint = endpoint_label(base_url)
        # max_retries=0: retries are ours (retry.py), so they honour long Retry-After and stop with the others
        self.client = openai.OpenAI(api_key=key, base_url=base_url, timeout=settings["timeout_s"], max_retries=0)
        # the SDK imports its resource modules at first use: here, not in the first request of 16 worker threads
        _ = self.client.chat.completions
        self.backoff = Backoff(retries=int(settings["max_retries"]))
        self._openai = openai
        self.mode = 0  # index in MODES: shared by the worker threads, only ever moves down the list
        self._mode_lock = threading.Lock()

    @staticmethod
    def _mode_refused(exc) -> bool:
        # by its words, not its status: a 400 for an over-long answer must not downgrade every later request
        text = f"{getattr(exc, 'message', '')} {getattr(exc, 'body', '')}".lower()
        return any(hint in text for hint in MODE_REFUSED_HINTS)

    def _once(self, messages: List[dict], schema: Optional[ReplySchema], max_tokens: int):
        """One HTTP request; transient faults become Transient, the user's mistakes a FatalEndpointError."""
        openai = self._openai
        mode = self.mode
        # extra_body, not the typed response_format argument: the SDK would walk the whole JSON schema against
        # its TypedDicts at every request (about half its CPU per call, which 16 worker threads share one GIL for)
        extra = {"response_format": response_format(MODES[mode], schema)} if schema is not None else None
        try:
            return self.client.chat.completions.create(
                model=self.settings["model"], messages=messages, temperature=self.settings["temperature"],
                max_tokens=max_tokens, extra_body=extra)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            # the server's message is not repeated: some echo the key back
            raise FatalEndpointError(f"judge endpoint {self.endpoint} refused the key (HTTP {exc.status_code}); "
                                     f"check the environment variable {self.key_env} (judge.api_key_env)") from None
        except openai.NotFoundError:
            raise FatalEndpointError(f"judge endpoint {self.endpoint}: model '{self.settings['model']}' or URL not "
                                     f"found (HTTP 404); check judge.model and judge.base_url") from None
        except (openai.BadRequestError, openai.InternalServerError) as exc:
            if schema is not None and mode + 1 < len(MODES) and self._mode_refused(exc):
                with self._mode_lock:
                    self.mode = max(self.mode, mode + 1)  # every later request, in every worker, uses the next
                raise ModeRefused() from None
            if exc.status_code >= 500:
                raise Transient(f"HTTP {exc.status_code}", retry_after_seconds(exc.response.headers)) from None
            words = " ".join(str(exc.message).split()).replace(self._key, "***")  # in case the server echoes it
            raise FatalEndpointError(f"judge endpoint {self.endpoint} rejected the request (HTTP 400): "
                                     f"{words[:300]}") from None
        except openai.APIStatusError as exc:
            if exc.status_code in (408, 409, 429) or exc.status_code >= 500:  # timeout, conflict, rate limit
                raise Transient(f"HTTP {exc.status_code}", retry_after_seconds(exc.response.headers)) from None
            raise FatalEndpointError(f"judge endpoint {self.endpoint} answered HTTP {exc.status_code}; check "
                                     f"judge.base_url and judge.model") from None
        except openai.APITimeoutError:
            raise Transient(f"no reply within judge.timeout_s={self.settings['timeout_s']} s") from None
        except openai.APIConnectionError as exc:
            raise Transient(f"cannot connect ({type(exc.__cause__ or exc).__name__})") from None

    def complete(self, messages: List[dict], *, stop: Optional[threading.Event] = None,
                 schema: Optional[ReplySchema] = None, max_tokens: Optional[int] = None) -> ChatReply:
        budget = self.settings["max_tokens"] if max_tokens is None else max_tokens

        def give_up(fault: Transient, tries: int) -> Exception:
            return UserError(f"judge endpoint {self.endpoint} still failing after {tries} tries ({fault.what}); "
                             f"verdicts so far are cached, rerun later to resume (judge.max_retries, judge.timeout_s)")

        while True:
            try:
                response = with_retries(lambda: self._once(messages, schema, budget), self.backoff,
                                        stop or threading.Event(), give_up)
                break
            except ModeRefused:
                continue  # self.mode has moved on; at most len(MODES) - 1 times
        usage = response.usage
        choice = response.choices[0] if response.choices else None
        return ChatReply(
            text=(choice.message.content or "") if choice else "", messages=list(messages),
            usage={"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} if usage else {},
            model=response.model or self.settings["model"], finish_reason=choice.finish_reason if choice else None,
            endpoint=self.endpoint)
