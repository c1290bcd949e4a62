"""The judges of a study: `judge` itself, then each of `judge.judges` with the keys it leaves out taken from
the first, except the key: an extra judge's api_key_env is its own (null: no key), never the first judge's, so
the key of one endpoint never reaches another. Light on purpose: the workflow reads it while it plans the jobs."""

from __future__ import annotations

from typing import List

from ..errors import UserError


def panel(settings: dict) -> List[dict]:
    """Every judge's full settings, each with a unique `name` (default: its model)."""
    base = {k: v for k, v in settings.items() if k != "judges"}
    judges = [{**base, "name": base.get("name") or base["model"]}]
    for extra in settings.get("judges") or []:
        judges.append({**base, "api_key_env": None, **extra, "name": extra.get("name") or extra["model"]})
    names = [j["name"] for j in judges]
    if len(set(names)) != len(names):
        raise UserError(f"judge.judges: the judge names {names} repeat; give each judge its own name (key: name)")
    return judges
