"""Retrying transient endpoint faults: exponential backoff with full jitter that honours Retry-After.

Our own loop rather than the openai client's: the client ignores a Retry-After above 60 s (it falls back to
8 s sleeps that a rate-limited API answers with more 429s), cannot be told that another worker already hit a
fatal error, and ends in a traceback when it gives up. Here a wait can be cut short by `stop`, and giving up
is one UserError line.
"""

from __future__ import annotations

import random
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Optional, TypeVar

T = TypeVar("T")

MAX_WAIT_S = 300.0  # a Retry-After beyond this is not waited out: the job gives up at once and says so
SAY_WAIT_S = 10.0  # a wait longer than this is announced on stderr (how long, why): never a silent hang


class Transient(Exception):
    """A fault worth retrying. `retry_after` is the server's hint in seconds, if it sent one."""

    def __init__(self, what: str, retry_after: Optional[float] = None, per_reply: bool = False):
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after
        self.per_reply = per_reply  # the endpoint answered, but not usefully (HTTP 200 without a reply)


class Stopped(Exception):
    """Another worker hit a fatal error: this one gives up without sending anything more."""


def retry_after_seconds(headers) -> Optional[float]:
    """The wait a 429/503 asks for: `retry-after-ms`, `retry-after` in seconds, or an HTTP date."""
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass
class Backoff:
    retries: int = 6  # attempts after the first
    base_s: float = 0.5
    cap_s: float = 30.0

    def wait_s(self, attempt: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return retry_after
        # full jitter: spreads the retries of concurrent workers instead of sending them in waves
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** attempt))


def with_retries(call: Callable[[], T], backoff: Backoff, stop: threading.Event,
                 give_up: Callable[[Transient, int], Exception], label: str = "endpoint") -> T:
    """`call()` until it returns; a Transient is retried `backoff.retries` times, then `give_up(fault, tries)`
    is raised. A Retry-After beyond MAX_WAIT_S gives up at once (the fault's text says how long was asked);
    a wait beyond SAY_WAIT_S prints one line first. Everything else passes through at once."""
    attempt = 0
    while True:
        if stop.is_set():
            raise Stopped()
        try:
            return call()
        except Transient as fault:
            if attempt >= backoff.retries:
                raise give_up(fault, attempt + 1) from None
            wait = backoff.wait_s(attempt, fault.retry_after)
            if wait > MAX_WAIT_S:
                fault.what = f"{fault.what}; the server asks to wait {_duration(wait)} (Retry-After), not waited out"
                raise give_up(fault, attempt + 1) from None
            if wait > SAY_WAIT_S:
                print(f"slmbench: {label}: waiting {wait:.0f} s before retry {attempt + 1} of {backoff.retries} "
                      f"({fault.what}{', as Retry-After asks' if fault.retry_after is not None else ''})",
                      file=sys.stderr, flush=True)
            if stop.wait(wait):
                raise Stopped() from None
            attempt += 1


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
