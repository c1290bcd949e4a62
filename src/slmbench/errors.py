"""User-facing errors: reported as one line (what, where, how to fix), no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or environment that the user can fix. The message is the whole report."""
