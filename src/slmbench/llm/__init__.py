"""The LLM calling layer that the judge and the prompt writer share (neither imports the other).

- client.py: the `ChatClient` Protocol, `ChatReply`, `ReplySchema`, `FatalEndpointError`;
- registry.py: `make_client(settings)` and `client_identity(settings)` by backend name;
- openai_client.py, llamacpp_client.py: the two backends (imported only when chosen);
- retry.py: backoff that honours Retry-After and stops with the other workers;
- cache.py: the content-hash cache and the study's spending ledger (one sqlite file);
- cost.py: estimates, per-call cost and the study-wide limit; tokens.py: tiktoken counts, offline fallback.
Importing this package loads neither openai nor llama_cpp.
"""

from __future__ import annotations

from .client import ChatClient, ChatReply, FatalEndpointError, ReplySchema, ReplyUnavailable
from .registry import BACKENDS, client_identity, make_client

__all__ = ["BACKENDS", "ChatClient", "ChatReply", "FatalEndpointError", "ReplySchema", "ReplyUnavailable",
           "client_identity",
           "make_client"]
