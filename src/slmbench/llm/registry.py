"""Chat backends by name. A backend's module (and its heavy dependency: openai, llama_cpp) is imported only
when that backend is chosen; naming the client (its identity) imports neither.

The settings are the config's `judge` section (the prompt writer borrows it): every key a backend reads is
required, as in the config schema; nothing here fills in a default.
"""

from __future__ import annotations

import difflib
from importlib import import_module
from typing import Mapping

from ..errors import UserError
from .client import ChatClient

BACKENDS = {  # name -> "module:class"
    "openai": "slmbench.llm.openai_client:OpenAIClient",
    "llamacpp": "slmbench.llm.llamacpp_client:LlamaCppClient",
}


def backend_class(name) -> type:
    try:
        module, _, cls = BACKENDS[name].partition(":")
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), BACKENDS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UserError(f"judge.backend '{name}' is unknown; {hint}known: {', '.join(BACKENDS)}") from None
    return getattr(import_module(module), cls)


def checked(settings: Mapping) -> type:
    """The backend class for `settings`, after checking that every key it reads is there."""
    if "backend" not in settings:
        raise UserError(f"client settings have no 'backend'; set judge.backend ({' or '.join(BACKENDS)})")
    from ..config import looks_like_key, url_has_userinfo  # the same rules as the config check

    if url_has_userinfo(settings.get("base_url")):  # e.g. from --base-url: never into a log, a row or a cache key
        raise UserError("base_url holds a user name or password (user:...@host); remove it, and put the secret in "
                        "the environment variable named by judge.api_key_env")
    if looks_like_key(settings.get("api_key_env")):
        raise UserError("judge.api_key_env looks like an API key itself (not shown here), not the name of an "
                        "environment variable; put the key in a variable such as OPENAI_API_KEY and name that")
    backend = backend_class(settings["backend"])
    missing = [key for key in backend.REQUIRED if key not in settings]
    if missing:
        raise UserError(f"settings of the {settings['backend']} client lack {', '.join(missing)}; every key of the "
                        f"judge section is required (see config/config.yaml)")
    return backend


def make_client(settings: Mapping) -> ChatClient:
    """A ready client for `settings["backend"]` (its key read, its GGUF loaded)."""
    return checked(settings)(dict(settings))


def client_identity(settings: Mapping) -> str:
    """What makes two clients answer differently (backend, model, endpoint or GGUF, chat format,
    temperature), from the settings alone: naming it needs no key and loads no model. Part of cache keys."""
    return checked(settings).identity(settings)
