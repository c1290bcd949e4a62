"""Download a data file (MT-Bench question.jsonl, reference answers) at run time, verified, written atomically.

The file is fetched whole, checked (sha256 when pinned) and only then renamed into place, so a cut
connection or a changed upstream file never leaves something that looks like valid input. Offline, the
error says where to put a copy by hand (Snakemake then skips the download).
"""

from __future__ import annotations

import hashlib
import http.client
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
    except urllib.error.HTTPError as exc:
        raise UserError(f"could not download {url} (HTTP {exc.code}); check the URL, or put the file at {out} "
                        f"by hand") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise UserError(f"could not download {url} ({reason}); when offline, put the file at {out}") from None
    if not data:
        raise UserError(f"{url} returned an empty file; check the URL, or put the file at {out} by hand")
    digest = hashlib.sha256(data).hexdigest()
    if sha256 and digest != sha256.lower():
        raise UserError(f"{url}: sha256 {digest} differs from the configured {sha256}; the upstream file changed "
                        f"or the URL is wrong: check it, then update the pin (questions.*sha256)")
    with atomic_output(out, "wb") as fh:
        fh.write(data)
    return out
