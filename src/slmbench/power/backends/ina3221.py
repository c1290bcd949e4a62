"""The Jetson's INA3221 (and INA2xx) power monitors read straight from sysfs, polled at about 10 ms.

Three driver layouts exist:
- hwmon (JetPack 5+): `hwmonN/in<k>_label` names a rail, `in<k>_input` is its bus voltage (mV) and
  `curr<k>_input` its current (mA);
- legacy iio (JetPack 4): `iio:deviceN/rail_name_<k>` and `in_power<k>_input` (mW);
- INA238-style hwmon: `power1_input` in µW, named by `power1_label` or `label`.
The files stay open and are re-read with pread at offset 0, which makes sysfs produce a fresh value.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..rails import board_total_rails, no_total_reason, read_board_model, unique_labels
from .base import BackendUnavailable, PolledBackend

POLL_MS = 10
SKIPPED_LABELS = {"", "NC"}  # unconnected channels


@dataclass
class Channel:
    label: str
    files: Tuple[str, ...]  # hwmon: (voltage mV, current mA); iio/INA238: (power,)
    scale: float  # multiply the product of the file values by this to get mW


class Ina3221Backend(PolledBackend):
    name = "ina3221"

    def __init__(self, settings):
        super().__init__(settings)
        self.channels: Dict[str, Channel] = {}
        self._fds: Dict[str, List[int]] = {}
        self.sensor_settings: Optional[str] = None

    @property
    def period_s(self) -> float:
        return min(self.settings.interval_ms, POLL_MS) / 1000.0

    def probe(self) -> None:
        root = self.settings.sysfs_root
        found = discover_channels(root)
        if not found:
            raise BackendUnavailable(
                f"no INA3221/INA2xx power monitor under {os.path.join(root, 'sys')} (hwmon or iio): not a Jetson, "
                f"or its driver is not loaded; use power.backend tegrastats, auto or none"
            )
        self.channels = {c.label: c for c in found}
        self.sensor_settings = averaging_settings(root)

    def start(self) -> None:
        if not self.channels:
            self.probe()
        model = read_board_model(self.settings.sysfs_root)
        self.rails = board_total_rails(list(self.channels), model, self.settings.rails)
        if self.rails is None:
            raise BackendUnavailable(f"the INA3221 channels carry {no_total_reason(list(self.channels))}")
        try:
            for rail in self.rails:
                self._fds[rail] = [os.open(path, os.O_RDONLY) for path in self.channels[rail].files]
        except OSError as exc:
            self.stop()
            raise BackendUnavailable(f"cannot read {exc.filename} ({exc.strerror}); run as a user that can") from None
        if self.read() is None:
            self.stop()
            raise BackendUnavailable(f"the INA3221 channels {', '.join(self.rails)} give no readable value")

    def read(self) -> Optional[Dict[str, float]]:
        readings = {}
        for rail, fds in self._fds.items():
            value = self.channels[rail].scale
            for fd in fds:
                try:
                    value *= int(os.pread(fd, 32, 0).split()[0])
                except (OSError, ValueError, IndexError):  # disabled channel, or a value mid-update
                    return None
            readings[rail] = value
        return readings

    def stop(self) -> None:
        for fds in self._fds.values():
            for fd in fds:
                os.close(fd)
        self._fds = {}


def discover_channels(root: str) -> List[Channel]:
    """Every labelled power channel under root/sys, labels made unique."""
    found = hwmon_channels(root) + iio_channels(root)
    labels = unique_labels([c.label for c in found])
    return [Channel(labels[i], c.files, c.scale) for i, c in enumerate(found)]


def averaging_settings(root: str) -> Optional[str]:
    """The monitors' averaging as the hwmon driver exposes it (`samples` averaged per reading and
    `update_interval` in ms): what one reading means, recorded with the energy. None where not exposed."""
    found = []
    for d in sorted(glob.glob(os.path.join(root, "sys/class/hwmon/hwmon*"))):
        if not (read_text(os.path.join(d, "name")) or "").startswith("ina"):
            continue
        samples, interval = read_text(os.path.join(d, "samples")), read_text(os.path.join(d, "update_interval"))
        if samples or interval:
            found.append(f"{os.path.basename(d)}: samples={samples or '?'} update_interval={interval or '?'} ms")
    return "; ".join(found) or None


def hwmon_channels(root: str) -> List[Channel]:
    channels: List[Channel] = []
    for d in sorted(glob.glob(os.path.join(root, "sys/class/hwmon/hwmon*"))):
        name = read_text(os.path.join(d, "name")) or ""
        if not name.startswith("ina"):
            continue
        vi = voltage_current_channels(d)
        channels += vi
        power = os.path.join(d, "power1_input")
        if not vi and os.path.exists(power):
            label = read_text(os.path.join(d, "power1_label")) or read_text(os.path.join(d, "label"))
            channels.append(Channel(label or f"{name}_{os.path.basename(d)}", (power,), 1e-3))  # µW -> mW
    return channels


def voltage_current_channels(d: str) -> List[Channel]:
    channels = []
    for label_file in sorted(glob.glob(os.path.join(d, "in*_label"))):
        k = re.search(r"in(\d+)_label$", label_file)
        volt, curr = os.path.join(d, f"in{k.group(1)}_input"), os.path.join(d, f"curr{k.group(1)}_input")
        label = read_text(label_file)
        if label not in SKIPPED_LABELS and label is not None and os.path.exists(volt) and os.path.exists(curr):
            channels.append(Channel(label, (volt, curr), 1e-3))  # mV x mA = µW -> mW
    return channels


def iio_channels(root: str) -> List[Channel]:
    patterns = ("sys/bus/i2c/drivers/ina3221x/*/iio:device*", "sys/bus/iio/devices/iio:device*")
    dirs = sorted({os.path.realpath(d) for p in patterns for d in glob.glob(os.path.join(root, p))})
    channels = []
    for d in dirs:
        for name_file in sorted(glob.glob(os.path.join(d, "rail_name_*"))):
            k = name_file.rsplit("_", 1)[1]
            power = os.path.join(d, f"in_power{k}_input")
            label = read_text(name_file)
            if label not in SKIPPED_LABELS and label is not None and os.path.exists(power):
                channels.append(Channel(label, (power,), 1.0))
    return channels


def read_text(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None
