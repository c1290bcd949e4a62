"""Power backends registered by name; `auto` tries them in AUTO_ORDER. Heavy imports happen inside a backend."""

from __future__ import annotations

from typing import Dict, Type

from .base import BackendSettings, BackendUnavailable, PowerBackend, Sample
from .ina3221 import Ina3221Backend
from .nvml import NvmlBackend
from .rapl import RaplBackend
from .tegrastats import TegrastatsBackend

BACKENDS: Dict[str, Type[PowerBackend]] = {
    "tegrastats": TegrastatsBackend,
    "ina3221": Ina3221Backend,
    "nvml": NvmlBackend,
    "rapl": RaplBackend,
}
# The study's method first; RAPL last because it sees the CPU package only, not a GPU.
AUTO_ORDER = ["tegrastats", "ina3221", "nvml", "rapl"]
BACKEND_NAMES = ["auto", *BACKENDS, "none"]

__all__ = ["AUTO_ORDER", "BACKENDS", "BACKEND_NAMES", "BackendSettings", "BackendUnavailable", "PowerBackend",
           "Sample"]
