"""Judge backends behind one small interface, registered by name.

`complete(messages) -> JudgeReply`: one chat call that should return the verdict JSON. Backends raise
UserError for what the user must fix (bad key, unknown model or URL); transient faults (429, 5xx,
timeouts) are retried by the openai client with exponential backoff that honours Retry-After.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional
from urllib.parse import urlparse

from ..errors import UserError
from .rubric import VERDICT_SCHEMA


@dataclass
class JudgeReply:
    text: str
    model: str  # as returned by the endpoint
    endpoint: str
    usage: Dict[str, int] = field(default_factory=dict)


class OpenAIJudge:
    """Any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp's server, Ollama)."""

    def __init__(self, settings: dict):
        import openai

        self.settings = settings
        env = settings.get("api_key_env") or "OPENAI_API_KEY"
        key = os.environ.get(env)
        base_url = settings.get("base_url")
        if not key:
            if base_url is None:
                raise UserError(f"no API key: set the environment variable {env} (judge.api_key_env)")
            key = "not-needed"  # local servers accept any key
        self.endpoint = urlparse(base_url).netloc if base_url else "api.openai.com"
        self.client = openai.OpenAI(api_key=key, base_url=base_url, timeout=settings.get("timeout_s", 60),
                                    max_retries=settings.get("max_retries", 6))
        self._openai = openai
        self.schema_mode = True  # json_schema strict first; JSON-object mode where unsupported

    def complete(self, messages: List[dict], schema: Optional[dict] = VERDICT_SCHEMA) -> JudgeReply:
        """One chat call; `schema` constrains the reply to JSON (None: free text, e.g. for writing prompts)."""
        openai = self._openai
        extra = {}
        if schema is not None:
            extra["response_format"] = (
                {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}
                if self.schema_mode else {"type": "json_object"})
        try:
            response = self.client.chat.completions.create(
                model=self.settings["model"], messages=messages, temperature=self.settings.get("temperature", 0),
                max_tokens=self.settings.get("max_tokens", 512), **extra)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise UserError(f"judge endpoint {self.endpoint} refused the key (HTTP {exc.status_code}); check "
                            f"{self.settings.get('api_key_env')}") from None
        except openai.NotFoundError:
            raise UserError(f"judge endpoint {self.endpoint}: model '{self.settings['model']}' or URL not found "
                            f"(HTTP 404); check judge.model and judge.base_url") from None
        except openai.BadRequestError as exc:
            if self.schema_mode and "response_format" in str(exc):
                self.schema_mode = False
                return self.complete(messages, schema)
            raise UserError(f"judge endpoint {self.endpoint} rejected the request (HTTP 400): {exc.message}") from None
        except openai.APIConnectionError as exc:
            raise UserError(f"cannot reach the judge endpoint {self.endpoint} ({type(exc).__name__}); check "
                            f"judge.base_url and the network") from None
        usage = response.usage
        return JudgeReply(
            text=response.choices[0].message.content or "", model=response.model or self.settings["model"],
            endpoint=self.endpoint,
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

    def complete(self, messages: List[dict], schema: Optional[dict] = VERDICT_SCHEMA) -> JudgeReply:
        if self.settings.get("chat_format") == "gemma" and messages[0]["role"] == "system":
            # Gemma has no system role: fold it into the first user turn, keep the rest of the conversation
            first = {"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}
            messages = [first, *messages[2:]]
        self.llm.reset()
        response = self.llm.create_chat_completion(
            messages=messages, temperature=self.settings.get("temperature", 0), max_tokens=self.settings.get("max_tokens", 256),
            response_format={"type": "json_object", "schema": schema} if schema is not None else None)
        usage = response.get("usage") or {}
        return JudgeReply(text=response["choices"][0]["message"]["content"] or "", model=self.settings["model"],
                          endpoint=self.endpoint,
                          usage={k: usage[k] for k in ("prompt_tokens", "completion_tokens") if k in usage})


BACKENDS: Dict[str, Callable[[dict], object]] = {"openai": OpenAIJudge, "llamacpp": LlamaCppJudge}


def make_judge(settings: dict):
    name = settings.get("backend", "openai")
    try:
        return BACKENDS[name](settings)
    except KeyError:
        raise UserError(f"judge.backend '{name}' is unknown; known: {', '.join(BACKENDS)}") from None
