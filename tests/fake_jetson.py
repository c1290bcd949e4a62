"""A fake Jetson for tests: real executables (`nvpmodel`, `jetson_clocks`, `sudo`) placed first on PATH, and a
fake /etc + /sys tree they and slmbench.jetson share.

    root = install_fake_jetson(tmp_path, mode=1, sudo_allowed=True)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_JETSON_ROOT", str(root))

- `nvpmodel -q` prints the current mode as JetPack does ("NV Power Mode: MAXN" then "0"); `nvpmodel -m N`
  switches it (state in <root>/var/lib/nvpmodel/status) and, like the real one, resets the clocks to scaling.
- `jetson_clocks` pins every fake CPU's scaling_min_freq to its scaling_max_freq.
- `sudo -n CMD` runs CMD when <root>/sudo_allowed exists, else fails as sudo does without a password.
Every call is appended to <root>/calls.log, one line of argv each.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

MODES = {0: "MAXN", 1: "15W", 2: "7W"}

NVPMODEL = r'''#!__PYTHON__
import json, os, sys
root = os.environ["FAKE_JETSON_ROOT"]
open(os.path.join(root, "calls.log"), "a").write(" ".join(["nvpmodel"] + sys.argv[1:]) + "\n")
status = os.path.join(root, "var/lib/nvpmodel/status")
modes = json.loads(__MODES__)
if sys.argv[1:2] == ["-q"]:
    mode = open(status).read().strip()
    print("NV Power Mode: " + modes[mode])
    print(mode)
elif sys.argv[1:2] == ["-m"]:
    if sys.argv[2] not in modes:
        print("NVPM ERROR: Invalid mode " + sys.argv[2], file=sys.stderr)
        sys.exit(1)
    open(status, "w").write(sys.argv[2])
    for cpu in os.listdir(os.path.join(root, "sys/devices/system/cpu")):
        d = os.path.join(root, "sys/devices/system/cpu", cpu, "cpufreq")
        open(os.path.join(d, "scaling_min_freq"), "w").write("115200\n")
else:
    sys.exit(2)
'''

JETSON_CLOCKS = r'''#!__PYTHON__
import os, sys
root = os.environ["FAKE_JETSON_ROOT"]
open(os.path.join(root, "calls.log"), "a").write(" ".join(["jetson_clocks"] + sys.argv[1:]) + "\n")
for cpu in os.listdir(os.path.join(root, "sys/devices/system/cpu")):
    d = os.path.join(root, "sys/devices/system/cpu", cpu, "cpufreq")
    top = open(os.path.join(d, "scaling_max_freq")).read()
    open(os.path.join(d, "scaling_min_freq"), "w").write(top)
'''

SUDO = r'''#!__PYTHON__
import os, sys
root = os.environ["FAKE_JETSON_ROOT"]
open(os.path.join(root, "calls.log"), "a").write(" ".join(["sudo"] + sys.argv[1:]) + "\n")
args = sys.argv[1:]
if args[:1] == ["-n"]:
    args = args[1:]
if not os.path.exists(os.path.join(root, "sudo_allowed")):
    print("sudo: a password is required", file=sys.stderr)
    sys.exit(1)
os.execvp(args[0], args)
'''


def _executable(path: Path, text: str) -> None:
    path.write_text(text.replace("__PYTHON__", sys.executable).replace("__MODES__", repr(json.dumps(
        {str(k): v for k, v in MODES.items()}))))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def install_fake_jetson(base: Path, mode: int = 1, sudo_allowed: bool = True, clocks_max: bool = False,
                        board: str = "NVIDIA Jetson Orin Nano Developer Kit",
                        l4t: str = "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, "
                        "DATE: Fri Sep 13 04:36:44 UTC 2024") -> Path:
    root = base / "fakejetson"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(board.encode() + b"\0")
    (root / "etc/nv_tegra_release").write_text(l4t + "\n")
    (root / "etc/nvpmodel.conf").write_text("".join(
        f"< POWER_MODEL ID={i} NAME={name} >\nCPU_ONLINE CORE_0 1\n\n" for i, name in MODES.items()))
    (root / "var/lib/nvpmodel").mkdir(parents=True)
    (root / "var/lib/nvpmodel/status").write_text(str(mode))
    for cpu in range(4):
        freq = root / f"sys/devices/system/cpu/cpu{cpu}/cpufreq"
        freq.mkdir(parents=True)
        (freq / "scaling_max_freq").write_text("1510400\n")
        (freq / "scaling_min_freq").write_text("1510400\n" if clocks_max else "115200\n")
    if sudo_allowed:
        (root / "sudo_allowed").write_text("")
    _executable(root / "bin/nvpmodel", NVPMODEL)
    _executable(root / "bin/jetson_clocks", JETSON_CLOCKS)
    _executable(root / "bin/sudo", SUDO)
    (root / "calls.log").write_text("")
    return root


def calls(root: Path) -> list:
    return (root / "calls.log").read_text().splitlines()
