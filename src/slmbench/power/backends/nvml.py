"""NVIDIA discrete GPUs: the driver's cumulative energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ).

Needs the `nvidia-ml-py` package (imported only when this backend is chosen) and a Volta or newer GPU. The
rails are `gpu0`, `gpu1`, ...: by default every visible GPU, so idle GPUs are included in both the inference
windows and the idle baseline, and cancel out in the net energy.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ...errors import UserError
from .base import BackendUnavailable, CounterBackend


class NvmlBackend(CounterBackend):
    name = "nvml"

    def __init__(self, settings):
        super().__init__(settings)
        self._nvml: Any = None
        self._handles: Dict[str, Any] = {}

    def probe(self) -> None:
        if self._nvml is not None:
            return
        try:
            import pynvml
        except ImportError:
            raise BackendUnavailable("the nvidia-ml-py package is not installed (pip install nvidia-ml-py); "
                                     "or use another power.backend") from None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise BackendUnavailable(f"NVML did not start ({exc}): no NVIDIA driver or GPU here; use another "
                                     f"power.backend") from None
        try:
            self._handles = self._energy_handles(pynvml)
        except BackendUnavailable:
            pynvml.nvmlShutdown()
            raise
        self._nvml = pynvml

    @staticmethod
    def _energy_handles(pynvml) -> Dict[str, Any]:
        handles = {}
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            try:
                pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except pynvml.NVMLError as exc:
                raise BackendUnavailable(f"GPU {i} has no readable energy counter ({exc}; it needs a Volta or "
                                         f"newer GPU); use another power.backend") from None
            handles[f"gpu{i}"] = handle
        if not handles:
            raise BackendUnavailable("NVML sees no GPU; use another power.backend")
        return handles

    def start(self) -> None:
        self.probe()
        rails: List[str] = self.settings.rails or sorted(self._handles)
        unknown = [r for r in rails if r not in self._handles]
        if unknown:
            raise UserError(f"power.rails names {', '.join(unknown)}, which NVML does not have (it has: "
                            f"{', '.join(sorted(self._handles))}); fix power.rails or set it to null")
        self.rails = rails

    def read_mj(self) -> Optional[Dict[str, float]]:
        try:
            return {r: float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handles[r])) for r in self.rails}
        except self._nvml.NVMLError:
            return None

    def stop(self) -> None:
        if self._nvml is not None:
            self._nvml.nvmlShutdown()
            self._nvml = None
