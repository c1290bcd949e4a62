"""What a study run prints besides its jobs' own live lines: a progress line every tenth of the jobs, with
the time left from slmbench.eta (the same figures as `slmbench status`).

The Snakefile's onstart registers the study; Snakemake's logger plugin `slmbench`
(src/snakemake_logger_plugin_slmbench, set in profiles/default) writes the line in place of Snakemake's own
"N of M steps done". Both run in Snakemake's main process.
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

PROGRESS_LINES = 10  # progress lines per run, at most (plus the last)

_study: Optional[Tuple[dict, List[str]]] = None


def register_study(config: dict, configfiles: List[str]) -> None:
    global _study
    _study = (config, list(configfiles))


def progress_due(done: int, total: int) -> bool:
    """Whether the progress line is printed after `done` of `total` jobs: every tenth, and the last."""
    every = max(1, math.ceil(total / PROGRESS_LINES))
    return done == total or done % every == 0


def time_left() -> Optional[str]:
    """`about 3 min left (inference 2 min, judging 1 min)`, or None when no study is registered."""
    if _study is None:
        return None
    from .eta import duration
    from .status import collect_status

    try:
        est = collect_status(*_study).estimate
    except Exception:  # a progress line must never stop the run
        return None
    parts = [f"{what} {duration(s)}" for what, s in (("inference", est.inference_s), ("judging", est.judging_s)) if s]
    return f"about {duration(est.total_s)} left" + (f" ({', '.join(parts)}), then the reports" if parts else
                                                      ": the reports")


def progress_line(done: int, total: int) -> str:
    line = f"slmbench: {done} of {total} jobs done"
    left = time_left() if done < total else None
    return line + (f"; {left}" if left else "")
