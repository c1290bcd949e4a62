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
from .client import ChatReply, FatalEndpointError, ReplySchema, ReplyUnavailable
from .retry import Backoff, Transient, retry_after_seconds, with_retries

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"  # what the openai client calls when base_url is null
# Structured-output modes, best first. An endpoint that refuses one is asked in the next from then on:
# llama-cpp-python's server answers json_schema with HTTP 500 ("Input should be 'text' or 'json_object'")
# but constrains a json_object reply to a "schema" given beside it (so does llama.cpp's llama-server);
# plain JSON-object mode is the last resort (valid JSON, any keys: the caller's check catches the rest).
MODES = ("json_schema", "json_object+schema", "json_object")
# Words in an error that says the endpoint cannot do the structured-output mode it was asked for.
MODE_REFUSED_HINTS = ("response_format", "json_schema", "schema", "grammar")


def within_deadline(call, timeout_s: float):
    """`call()`, or Transient once `timeout_s` has passed since the request began. The openai client's own
    timeout is per read: a server trickling a byte at a time would keep a request alive for ever. The call
    runs in a daemon thread that is abandoned at the deadline (its own per-read timeout ends it later)."""
    result: dict = {}
    done = threading.Event()

    def run():
        try:
            result["value"] = call()
        except BaseException as exc:  # handed to the caller, who maps it
            result["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, daemon=True, name="slmbench-request").start()
    if not done.wait(timeout_s):
        raise Transient(f"no complete reply within judge.timeout_s={timeout_s:g} s")
    if "error" in result:
        raise result["error"]
    return result["value"]


def _hide(text: str, key: str) -> str:
    return text.replace(key, "***") if key else text


class ModeRefused(Exception):
    """The endpoint cannot do the structured-output mode asked for: ask again in the next (not a retry)."""


def resolved_base_url(base_url: Optional[str]) -> str:
    """The URL the openai client really calls: base_url, else OPENAI_BASE_URL (which the client follows when
    base_url is null), else api.openai.com. Identities and the judge_endpoint column name this one."""
    return base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_URL


def endpoint_label(base_url: Optional[str]) -> str:
    """Host and path of the endpoint, never its query string or credentials (a key can hide in either)."""
    url = urlparse(resolved_base_url(base_url))
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

        from ..config import endpoint_words, plain_http_to_network

        self.settings = settings
        self.key_env = settings["api_key_env"]
        # the one place a key is read: the variable this endpoint is configured with, and no other (the openai
        # library would fall back to OPENAI_API_KEY for every endpoint: it is never left to choose)
        key = os.environ.get(self.key_env) if self.key_env else None
        base_url = settings["base_url"] or os.environ.get("OPENAI_BASE_URL")
        if not key and base_url is None:
            raise UserError(f"no API key: set the environment variable {self.key_env or 'OPENAI_API_KEY'} "
                            f"(judge.api_key_env)")
        if key and plain_http_to_network(base_url):
            raise UserError(f"judge endpoint {endpoint_words(base_url)} is plain http to another machine: the key in "
                            f"{self.key_env} would cross the network unencrypted; use https, or api_key_env: null "
                            f"for a server that needs no key")
        self._key = key or ""
        # no key: no Authorization header at all (the library insists on a key to start, which is never sent)
        self._headers = None if key else {"Authorization": openai.Omit()}
        self.endpoint = endpoint_label(base_url)
        # max_retries=0: retries are ours (retry.py), so they honour long Retry-After and stop with the others
        self.client = openai.OpenAI(api_key=key or "no-key-sent", base_url=base_url, timeout=settings["timeout_s"],
                                    max_retries=0)
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
            response = within_deadline(lambda: self.client.chat.completions.create(
                model=self.settings["model"], messages=messages, temperature=self.settings["temperature"],
                max_tokens=max_tokens, extra_body=extra, extra_headers=self._headers),
                float(self.settings["timeout_s"]))
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
            words = _hide(" ".join(str(exc.message).split()), self._key)  # in case the server echoes it
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
        return self._usable(response)

    def _usable(self, response):
        """A completion with a reply in it. An HTML page (a wrong URL behind a proxy or web server) is the
        user's to fix; an HTTP 200 carrying an error, no choices or null content is retried, never a verdict."""
        if isinstance(response, str) or not hasattr(response, "choices"):
            text = str(response).lstrip()[:200].lower()
            if text.startswith("<") or "<html" in text:
                raise FatalEndpointError(f"judge endpoint {self.endpoint} answered with an HTML page, not a chat "
                                         f"completion; check judge.base_url (an OpenAI-compatible API, e.g. "
                                         f"ending in /v1)")
            raise FatalEndpointError(f"judge endpoint {self.endpoint} answered with something that is not a chat "
                                     f"completion; check judge.base_url")
        error = (getattr(response, "model_extra", None) or {}).get("error")  # a field a completion does not have
        if error:
            message = error.get("message") if isinstance(error, dict) else error
            words = _hide(" ".join(str(message).split()), self._key)[:150]
            raise Transient(f"HTTP 200 with an error body ({words})", per_reply=True)
        if not response.choices:
            raise Transient("HTTP 200 with no choices", per_reply=True)
        choice = response.choices[0]
        if choice.message is None or choice.message.content is None:
            raise Transient(f"HTTP 200 with null content (finish_reason {choice.finish_reason})", per_reply=True)
        return response

    def complete(self, messages: List[dict], *, stop: Optional[threading.Event] = None,
                 schema: Optional[ReplySchema] = None, max_tokens: Optional[int] = None) -> ChatReply:
        budget = self.settings["max_tokens"] if max_tokens is None else max_tokens

        def give_up(fault: Transient, tries: int) -> Exception:
            if fault.per_reply:
                return ReplyUnavailable(f"{fault.what}, {tries} tries")
            return UserError(f"judge endpoint {self.endpoint} still failing after {tries} tries ({fault.what}); "
                             f"verdicts so far are cached, rerun later to resume (judge.max_retries, judge.timeout_s)")

        while True:
            try:
                response = with_retries(lambda: self._once(messages, schema, budget), self.backoff,
                                        stop or threading.Event(), give_up, label=f"judge endpoint {self.endpoint}")
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
