"""The one interface every chat backend implements, and what one call returns.

`complete(messages, *, stop=None, schema=None, max_tokens=None) -> ChatReply`:
- `messages`: OpenAI-style chat turns, [{"role": "system"|"user"|"assistant", "content": str}, ...].
- `stop`: a threading.Event that another worker sets after a fatal error; a client waiting to retry gives
  up at once (raises retry.Stopped) instead of sending more. None: nobody stops it.
- `schema`: a ReplySchema to constrain the reply to JSON (the caller still checks it); None: free text.
- `max_tokens`: the reply's token budget for this call; None: the client's configured `max_tokens`.
The reply's `messages` are the turns actually sent, which can differ from those given (a template without
a system role gets the system text folded into the first user turn).

A client raises UserError for what the user must fix (FatalEndpointError: key, model, URL: nothing more
should be sent), and one UserError line when a transient fault (429, 5xx, timeout) outlasts its retries.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, runtime_checkable

from ..errors import UserError


@dataclass(frozen=True)
class ReplySchema:
    """A JSON schema for the reply, in the two forms the backends take.

    `schema` goes to OpenAI's strict json_schema mode, which refuses bounds such as maxLength; `grammar`,
    when given, is the tighter form for llama.cpp's grammar (in-process, or a llama.cpp server in
    JSON-object mode), which enforces them. `name` labels the schema in the request."""

    name: str
    schema: dict
    grammar: Optional[dict] = None

    @property
    def for_grammar(self) -> dict:
        return self.grammar if self.grammar is not None else self.schema


@dataclass(frozen=True)
class ChatReply:
    text: str
    messages: List[dict]  # the turns actually sent
    usage: Dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens where reported
    model: str = ""  # as the endpoint names it (a dated snapshot), else the configured model
    finish_reason: Optional[str] = None  # "stop", "length" (budget ran out), ... as reported
    endpoint: str = ""  # host and path of the endpoint, or "in-process"; never a key or query string


@runtime_checkable
class ChatClient(Protocol):
    endpoint: str

    def complete(self, messages: List[dict], *, stop: Optional[threading.Event] = None,
                 schema: Optional[ReplySchema] = None, max_tokens: Optional[int] = None) -> ChatReply:
        ...


class FatalEndpointError(UserError):
    """The endpoint refuses every request (key, model, URL): no other request should be sent."""


class ReplyUnavailable(UserError):
    """A reply-shaped fault (HTTP 200 with an error body, no choices, null content) outlasted its retries:
    this one request has no answer, but the endpoint works; the caller stores nothing for it and goes on."""
