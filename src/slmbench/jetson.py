"""The Jetson board: model, L4T/JetPack version, nvpmodel power mode and jetson_clocks, queried and applied.

Stdlib only and Python 3.10 compatible: the inference step (JetPack 6 system Python) records the power mode
in every run. Changing the mode needs root: it runs through `sudo -n` (never a password prompt in the
middle of a 4-hour run); when that is not allowed the caller gets the reason and decides whether it is a
warning or an error (`jetson.require`). `root` prefixes /proc, /sys and /etc so tests use a fake tree.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Dict, List, Optional, Union

from .power.rails import read_board_model

COMMAND_TIMEOUT_S = 120  # nvpmodel may take a while when it reconfigures CPU cores


@dataclass
class PowerMode:
    mode_id: Optional[int]
    name: Optional[str]

    def __str__(self) -> str:
        if self.name and self.mode_id is not None:
            return f"{self.name} (nvpmodel {self.mode_id})"
        return self.name or f"nvpmodel {self.mode_id}"


@dataclass
class ApplyResult:
    ok: bool
    message: str


def board_model(root: str = "/") -> Optional[str]:
    return read_board_model(root)


def l4t_version(root: str = "/") -> Optional[str]:
    """L4T release from /etc/nv_tegra_release ("# R36 (release), REVISION: 4.0, ...") -> "36.4.0"."""
    try:
        with open(os.path.join(root, "etc/nv_tegra_release"), encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return None
    match = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", first)
    return f"{match.group(1)}.{match.group(2)}" if match else None


# L4T major release -> JetPack major version (the minor versions are too many to keep right here)
_JETPACK_BY_L4T = {"32": "4", "34": "5", "35": "5", "36": "6", "38": "7"}


def jetpack_major(l4t: Optional[str]) -> Optional[str]:
    return _JETPACK_BY_L4T.get(l4t.split(".")[0]) if l4t else None


def _run(cmd: List[str], timeout: float = COMMAND_TIMEOUT_S) -> Optional[subprocess.CompletedProcess]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def query_nvpmodel() -> Optional[PowerMode]:
    """The current mode from `nvpmodel -q` ("NV Power Mode: MAXN" then "0"); None when nvpmodel is absent."""
    if shutil.which("nvpmodel") is None:
        return None
    proc = _run(["nvpmodel", "-q"], timeout=30)
    if proc is None or proc.returncode != 0:
        return None
    name, mode_id = None, None
    for line in proc.stdout.splitlines():
        line = line.strip()
        if "Power Mode" in line and ":" in line:
            name = line.split(":", 1)[1].strip() or None
        elif line.isdigit() and mode_id is None:
            mode_id = int(line)
    return PowerMode(mode_id, name) if (name or mode_id is not None) else None


def nvpmodel_modes(root: str = "/") -> Dict[int, str]:
    """Mode id -> name from /etc/nvpmodel.conf (`< POWER_MODEL ID=0 NAME=MAXN >`)."""
    try:
        with open(os.path.join(root, "etc/nvpmodel.conf"), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return {}
    pattern = re.compile(r"<\s*POWER_MODEL\s+ID\s*=\s*(\d+)\s+NAME\s*=\s*([^\s>]+)")
    return {int(m.group(1)): m.group(2) for m in pattern.finditer(text)}


def resolve_mode(wanted: Union[int, str], modes: Dict[int, str]) -> int:
    """A configured mode (id or name) -> id; ValueError naming the modes this board has."""
    if isinstance(wanted, int):
        if modes and wanted not in modes:
            raise ValueError(f"nvpmodel mode {wanted} is not defined on this board ({_list_modes(modes)})")
        return wanted
    for mode_id, name in modes.items():
        if name.lower() == str(wanted).lower():
            return mode_id
    if str(wanted).isdigit():
        return resolve_mode(int(wanted), modes)
    raise ValueError(f"nvpmodel mode {wanted!r} is not defined on this board ({_list_modes(modes)})")


def _list_modes(modes: Dict[int, str]) -> str:
    if not modes:
        return "no /etc/nvpmodel.conf"
    return "modes: " + ", ".join(f"{i}={n}" for i, n in sorted(modes.items()))


def clocks_state(root: str = "/") -> Optional[str]:
    """'max' when jetson_clocks has pinned the clocks (every online CPU and GPU devfreq at min == max),
    'dynamic' when they scale, None when the kernel exposes no frequency scaling."""
    pairs = []
    for cpu in sorted(glob.glob(os.path.join(root, "sys/devices/system/cpu/cpu[0-9]*/cpufreq"))):
        pairs.append((_read_int(os.path.join(cpu, "scaling_min_freq")),
                      _read_int(os.path.join(cpu, "scaling_max_freq"))))
    for dev in sorted(glob.glob(os.path.join(root, "sys/class/devfreq/*"))):
        if _is_gpu_devfreq(dev):
            pairs.append((_read_int(os.path.join(dev, "min_freq")), _read_int(os.path.join(dev, "max_freq"))))
    pairs = [(lo, hi) for lo, hi in pairs if lo is not None and hi is not None]
    if not pairs:
        return None
    return "max" if all(lo == hi for lo, hi in pairs) else "dynamic"


def _is_gpu_devfreq(path: str) -> bool:
    """The Jetson GPU's devfreq node: its device-tree node is compatible with an nvidia,gXXb GPU."""
    try:
        with open(os.path.join(path, "device/of_node/compatible"), "rb") as fh:
            compatible = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"nvidia,g[a-z]?\d+b", compatible) is not None


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def power_mode_description(root: str = "/") -> Optional[str]:
    """What every run record stores as `power_mode`, e.g. "MAXN (nvpmodel 0); clocks max"; None off a Jetson."""
    return describe_power_mode(query_nvpmodel(), root)


def describe_power_mode(mode: Optional[PowerMode], root: str = "/") -> Optional[str]:
    """`power_mode` of a mode already queried: the mode and the clock state; None for no mode (not a Jetson)."""
    if mode is None:
        return None
    clocks = clocks_state(root)
    return f"{mode}; clocks {clocks}" if clocks else str(mode)


def mode_label(power_mode: Optional[str], power_mode_id: Optional[int]) -> str:
    """A record's mode as the reports name it: the nvpmodel name of its `power_mode` ("15W" from "15W (nvpmodel 1);
    clocks max", the format describe_power_mode writes), else "nvpmodel <id>", else "" (none recorded)."""
    if power_mode:
        name = power_mode.split(";", 1)[0].split(" (nvpmodel ", 1)[0].strip()
        if name:
            return name
    return f"nvpmodel {power_mode_id}" if power_mode_id is not None and power_mode_id >= 0 else ""


def _privileged(cmd: List[str]) -> List[str]:
    """Root runs the command itself; anyone else through `sudo -n`, which fails instead of asking."""
    return cmd if os.geteuid() == 0 else ["sudo", "-n"] + cmd


def _failure(proc: Optional[subprocess.CompletedProcess], what: str) -> str:
    if proc is None:
        return f"{what} did not run (not found or timed out)"
    text = (proc.stderr or proc.stdout or "").strip().splitlines()
    return f"{what} failed (exit {proc.returncode}: {text[-1] if text else 'no message'})"


def apply_nvpmodel(wanted: Union[int, str], root: str = "/") -> ApplyResult:
    """Switch to the configured nvpmodel mode unless the board is already in it."""
    current = query_nvpmodel()
    if current is None:
        return ApplyResult(False, "nvpmodel not found: not a Jetson, or JetPack's nvpmodel is not installed")
    try:
        mode_id = resolve_mode(wanted, nvpmodel_modes(root))
    except ValueError as exc:
        return ApplyResult(False, f"{exc}; set jetson.nvpmodel to one of them")
    if current.mode_id == mode_id:
        return ApplyResult(True, f"already in {current}")
    proc = _run(_privileged(["nvpmodel", "-m", str(mode_id)]))
    now = query_nvpmodel()
    if proc is not None and proc.returncode == 0 and now is not None and now.mode_id == mode_id:
        return ApplyResult(True, f"switched from {current} to {now}")
    reason = _failure(proc, f"sudo -n nvpmodel -m {mode_id}") if proc is None or proc.returncode else \
        "the mode did not change (it may need a reboot)"
    return ApplyResult(False, f"still in {current}: {reason}; run `sudo nvpmodel -m {mode_id}` yourself, or allow "
                              f"it without a password in sudoers (see README)")


def apply_clocks(wanted: str, root: str = "/") -> ApplyResult:
    """`jetson_clocks` pins CPU, GPU and memory clocks at the mode's maximum ('max')."""
    if wanted != "max":
        return ApplyResult(False, f"jetson.clocks {wanted!r} is unknown; use max or null")
    if clocks_state(root) == "max":
        return ApplyResult(True, "already at max")
    if shutil.which("jetson_clocks") is None:
        return ApplyResult(False, "jetson_clocks not found: not a Jetson, or JetPack's jetson_clocks is missing")
    proc = _run(_privileged(["jetson_clocks"]))
    if proc is not None and proc.returncode == 0 and clocks_state(root) == "max":
        return ApplyResult(True, "clocks pinned at max by jetson_clocks")
    reason = _failure(proc, "sudo -n jetson_clocks") if proc is None or proc.returncode else \
        "the clocks still scale after jetson_clocks"
    return ApplyResult(False, f"{reason}; run `sudo jetson_clocks` yourself, or allow it without a password in "
                              f"sudoers (see README)")
