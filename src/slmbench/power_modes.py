"""The board's power mode as a study factor (`jetson.power_modes`): which modes a study measures, and the switch
into one before a shard or an idle baseline is measured.

How the two keys relate: `jetson.power_modes` replaces `jetson.nvpmodel`; a study sets at most one of them.
- neither (both null): the board's mode is left as it is; one mode, today's paths.
- `jetson.nvpmodel: MAXN`, or `jetson.power_modes: [MAXN]` (one entry): the same thing, today's behaviour. The
  doctor rule sets that mode once, before anything is measured; shards and baselines keep today's paths.
- `jetson.power_modes: [15W, 25W, MAXN_SUPER]` (two or more): every shard is measured in every mode. Shards are
  (model, level, category, mode), at `shards/<model>/<level>/<category>/<mode>.jsonl`, each mode has its own idle
  baseline (`power/<mode>/idle_<host>.json`), and the designed order runs each round's shards once per mode
  (slmbench.mode_order), so the board switches at most once per mode per round.

A switch (`switch_mode`): nothing when the board is in the mode already; else `nvpmodel -m <id>` (through sudo -n
unless root), the clocks pinned again where `jetson.clocks` asks (nvpmodel resets them), `jetson.settle_s`
seconds of settling, and `nvpmodel -q` must then report the mode: otherwise the job stops with one line, and the
shard (or baseline) is not measured. Modes are named as in /etc/nvpmodel.conf, or by id; the label a mode has in
paths and reports is the entry as configured.

Stdlib only and Python 3.10 compatible: the inference step switches before it measures.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Mapping, Optional, Union

from .errors import UserError
from .jetson import PowerMode, apply_clocks, apply_nvpmodel, nvpmodel_modes, query_nvpmodel, resolve_mode

Mode = Union[int, str]


def _entries(jetson: Mapping) -> List[Mode]:
    modes = jetson.get("power_modes") or []
    if modes and jetson.get("nvpmodel") is not None:
        raise UserError(f"jetson.power_modes ({', '.join(map(str, modes))}) replaces jetson.nvpmodel "
                        f"({jetson['nvpmodel']}): set jetson.nvpmodel to null, or drop jetson.power_modes")
    labels = [str(m) for m in modes]
    if len(set(labels)) != len(labels):
        raise UserError(f"jetson.power_modes lists a mode twice ({', '.join(labels)}); list each once")
    return list(modes)


def study_modes(jetson: Mapping) -> List[str]:
    """The modes the study measures as a factor, as labels (paths, wildcards, reports): jetson.power_modes when
    it has two or more entries; [] for a one-mode study (its shards keep today's paths)."""
    modes = _entries(jetson)
    return [str(m) for m in modes] if len(modes) > 1 else []


def single_mode(jetson: Mapping) -> Optional[Mode]:
    """The one mode the doctor sets before a one-mode study (jetson.nvpmodel, or power_modes' only entry); None
    when the board's mode is left alone or the study has several modes (each job then switches itself)."""
    modes = _entries(jetson)
    if len(modes) > 1:
        return None
    return modes[0] if modes else jetson.get("nvpmodel")


def as_configured(label: str) -> Mode:
    """A mode label back to what nvpmodel is asked for: an id where the label is digits, else the name."""
    return int(label) if str(label).isdigit() else str(label)


def switch_mode(wanted: Mode, settle_s: float, clocks: Optional[str] = None, root: str = "/",
                say=None) -> PowerMode:
    """Put the board into `wanted` and verify it (see the module docstring); returns the mode now set.

    A UserError (one line) when nvpmodel is missing, the mode is not one of the board's, the switch is refused
    (no passwordless sudo) or the mode did not hold through the settling time."""
    say = say or _say
    current = query_nvpmodel()
    if current is None:
        raise UserError(f"jetson.power_modes: cannot switch to {wanted}: nvpmodel not found (not a Jetson, or "
                        f"JetPack's nvpmodel is not installed); measure one mode (jetson.power_modes: null)")
    try:
        mode_id = resolve_mode(as_configured(str(wanted)), nvpmodel_modes(root))
    except ValueError as exc:
        raise UserError(f"jetson.power_modes: {exc}; list the board's modes by name or id") from None
    if current.mode_id == mode_id:
        return current
    result = apply_nvpmodel(mode_id, root)
    if not result.ok:
        raise UserError(f"jetson.power_modes: could not switch to {wanted}: {result.message}")
    if clocks:  # nvpmodel sets the mode's own clock limits and leaves them scaling
        pinned = apply_clocks(clocks, root)
        if not pinned.ok:
            raise UserError(f"jetson.clocks after switching to {wanted}: {pinned.message}")
    say(f"power mode: {result.message}; settling {settle_s:g} s (jetson.settle_s)")
    time.sleep(settle_s)
    now = query_nvpmodel()
    if now is None or now.mode_id != mode_id:
        raise UserError(f"jetson.power_modes: the board left {wanted} while settling (nvpmodel -q says "
                        f"{now or 'nothing'}); check what else changes the mode (a GUI power applet?) and rerun")
    return now


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _cmd_set(args) -> int:
    mode = switch_mode(args.mode, args.settle_s, args.clocks or None, args.root)
    print(f"power mode: {mode}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("power-mode", help="switch the board's nvpmodel mode and verify it")
    sub = parser.add_subparsers(dest="action", required=True)
    set_parser = sub.add_parser("set", help="switch to a mode (by name or id), settle, verify with nvpmodel -q")
    set_parser.add_argument("mode", help="the nvpmodel mode, by name (/etc/nvpmodel.conf) or id")
    add_switch_arguments(set_parser)
    set_parser.add_argument("--root", default="/", help="prefix of /etc and /sys (a fake board in tests)")
    set_parser.set_defaults(func=_cmd_set)


def add_switch_arguments(parser: argparse.ArgumentParser) -> None:
    """--settle-s and --clocks: what a job that switches modes needs besides the mode."""
    parser.add_argument("--settle-s", type=float, default=0.0, help="seconds to wait after a switch (jetson.settle_s)")
    parser.add_argument("--clocks", default="", help="jetson.clocks to apply again after a switch (max, or empty)")
