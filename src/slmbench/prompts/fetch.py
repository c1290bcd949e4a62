"""Download a data file (MT-Bench question.jsonl) at run time, verified by sha256, written atomically."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from ..errors import UserError
from ..records import atomic_output


def fetch_file(url: str, out, sha256: Optional[str] = None, timeout_s: float = 60) -> Path:
    out = Path(out)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            data = response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UserError(f"could not download {url} ({getattr(exc, 'reason', exc)}); when offline, put the file at {out}") from None
    digest = hashlib.sha256(data).hexdigest()
    if sha256 and digest != sha256:
        raise UserError(f"{url}: sha256 {digest} differs from the configured {sha256}; check the URL or the pin")
    with atomic_output(out, "wb") as fh:
        fh.write(data)
    return out
