"""Energy measurement for LLM inference: power backends, one long-lived sampler, exact window integration.

Stdlib only and Python 3.10 compatible (the inference step may run under JetPack 6's system Python);
nvidia-ml-py is imported only by the nvml backend. Nothing here imports Snakemake.
"""

from __future__ import annotations

from typing import Optional

from .idle import idle_mismatch, load_idle, measure_idle
from .integration import PowerWindow, integrate_energy
from .parsing import parse_line, parse_rails
from .sampler import PowerSampler, open_sampler


def net_energy_j(gross_j: Optional[float], idle_mw: Optional[float], duration_s: float) -> Optional[float]:
    """Energy above the idle baseline: gross - idle power x duration. Not clamped: a negative value is what
    was measured (the board drew less than its baseline), and hiding it would bias every mean upwards."""
    if gross_j is None or idle_mw is None:
        return None
    return gross_j - idle_mw / 1000.0 * duration_s


__all__ = ["PowerSampler", "PowerWindow", "idle_mismatch", "integrate_energy", "load_idle", "measure_idle",
           "net_energy_j", "open_sampler", "parse_line", "parse_rails"]
