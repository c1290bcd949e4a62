"""How every entry point calls a subcommand handler: a user's mistake ends as one line, never a traceback.

Its own module so that `slmbench.cli` (which imports every stage to register it) and the stages' own entry
points (`python -m slmbench.inference`, `python -m slmbench.power`) share it without importing each other.
Stdlib only and Python 3.10 compatible: the inference interpreter runs it.
"""

from __future__ import annotations

import errno
import sys

from .errors import UserError


def run(handler, args) -> int:
    """Call a subcommand handler; a UserError becomes one line on stderr and exit code 2."""
    try:
        result = handler(args)
    except UserError as exc:
        print(f"slmbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            raise
        # a full disk or unwritable directory is the user's to fix; outputs are atomic, so nothing partial is left
        print(f"slmbench: error: {exc.strerror}: {exc.filename or 'writing output'}; free space or fix "
              f"permissions and rerun", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slmbench: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)
