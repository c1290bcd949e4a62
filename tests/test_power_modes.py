"""Power modes as a study factor: how jetson.power_modes and jetson.nvpmodel relate, the switch before a job
(against the fake nvpmodel, jetson_clocks and sudo: real processes on PATH that log every call), and the
designed order that runs each round once per mode."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from itertools import product

import pytest

from fake_jetson import calls, install_fake_jetson
from slmbench import jetson, power_modes
from slmbench.errors import UserError
from slmbench.mode_order import idle_ranks, mode_order, mode_positions, mode_rows, switches, williams_rows
from slmbench.run_order import designed_order


@pytest.fixture
def board(tmp_path, monkeypatch):
    """A fake Orin Nano (tests/fake_jetson.py) first on PATH; the tests act as a non-root user (sudo -n)."""

    def make(**kwargs):
        root = install_fake_jetson(tmp_path, **kwargs)
        monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_JETSON_ROOT", str(root))
        monkeypatch.setattr(jetson.os, "geteuid", lambda: 1000)
        return root

    return make


# ---------------------------------------------------------------- the config


@pytest.mark.parametrize("section, modes, single", [
    ({"nvpmodel": None, "power_modes": None}, [], None),  # the board's mode left alone
    ({"nvpmodel": "MAXN", "power_modes": None}, [], "MAXN"),  # today's behaviour
    ({"nvpmodel": None, "power_modes": ["MAXN"]}, [], "MAXN"),  # one entry: the same thing
    ({"nvpmodel": None, "power_modes": ["15W", 2]}, ["15W", "2"], None),  # a factor; the jobs switch
])
def test_power_modes_replace_nvpmodel(section, modes, single):
    assert power_modes.study_modes(section) == modes
    assert power_modes.single_mode(section) == single


def test_both_keys_set_or_a_mode_listed_twice_is_one_line_naming_them():
    with pytest.raises(UserError, match=r"^jetson.power_modes \(15W, 7W\) replaces jetson.nvpmodel \(MAXN\): set "
                                        r"jetson.nvpmodel to null"):
        power_modes.study_modes({"nvpmodel": "MAXN", "power_modes": ["15W", "7W"]})
    with pytest.raises(UserError, match=r"lists a mode twice \(15W, 15W\)"):
        power_modes.study_modes({"nvpmodel": None, "power_modes": ["15W", "15W"]})


# ---------------------------------------------------------------- the switch


def test_a_switch_goes_through_sudo_pins_the_clocks_again_settles_and_verifies(board):
    root = board(mode=1, clocks_max=True)
    said = []
    mode = power_modes.switch_mode("MAXN", 0.2, clocks="max", root=str(root), say=said.append)
    assert (mode.mode_id, mode.name) == (0, "MAXN")
    log = calls(root)
    assert "sudo -n nvpmodel -m 0" in log and "sudo -n jetson_clocks" in log  # nvpmodel had reset the clocks
    assert log[-1] == "nvpmodel -q"  # verified after settling
    assert jetson.clocks_state(str(root)) == "max"
    assert said == ["power mode: switched from 15W (nvpmodel 1) to MAXN (nvpmodel 0); settling 0.2 s "
                    "(jetson.settle_s)"]


def test_no_switch_and_no_settling_when_the_board_is_in_the_mode(board):
    root = board(mode=2)
    assert power_modes.switch_mode(2, 60, root=str(root)).name == "7W"  # by id; would sleep a minute if it switched
    assert [c for c in calls(root) if "-m" in c] == []


@pytest.mark.parametrize("case, expected", [
    ("unknown", r"^jetson.power_modes: nvpmodel mode 'MAXN_SUPER' is not defined on this board \(modes: 0=MAXN, "
                r"1=15W, 2=7W\)"),
    ("no sudo", r"^jetson.power_modes: could not switch to MAXN: still in 15W \(nvpmodel 1\): .*a password is "
                r"required"),
    ("no nvpmodel", r"^jetson.power_modes: cannot switch to MAXN: nvpmodel not found"),
])
def test_a_failed_switch_is_one_line_and_leaves_the_mode(board, monkeypatch, case, expected):
    root = board(mode=1, sudo_allowed=case != "no sudo")
    if case == "no nvpmodel":
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
    wanted = "MAXN_SUPER" if case == "unknown" else "MAXN"
    with pytest.raises(UserError, match=expected) as err:
        power_modes.switch_mode(wanted, 0, root=str(root))
    assert "\n" not in str(err.value)
    assert (root / "var/lib/nvpmodel/status").read_text() == "1"


def test_a_mode_that_does_not_hold_through_the_settling_stops(board):
    root = board(mode=1)

    def something_else_switches(_line):  # while the job settles, another tool puts the board back in 15W
        (root / "var/lib/nvpmodel/status").write_text("1")

    with pytest.raises(UserError, match=r"the board left MAXN while settling \(nvpmodel -q says 15W \(nvpmodel 1\)\)"):
        power_modes.switch_mode("MAXN", 0, root=str(root), say=something_else_switches)


def test_power_mode_set_command_switches_or_fails_in_one_line(board):
    root = board(mode=1)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    ok = subprocess.run([sys.executable, "-m", "slmbench.cli", "power-mode", "set", "7W", "--root", str(root)],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "7W (nvpmodel 2)" in ok.stderr and (root / "var/lib/nvpmodel/status").read_text() == "2"
    bad = subprocess.run([sys.executable, "-m", "slmbench.cli", "power-mode", "set", "25W", "--root", str(root)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'25W' is not defined on this board" in bad.stderr


# ---------------------------------------------------------------- the designed order


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_williams_rows_balance_places_and_neighbours(n):
    import random

    rows = williams_rows(list(range(n)), random.Random(7))
    assert len(rows) == (n if n % 2 == 0 else 2 * n) and all(sorted(r) == list(range(n)) for r in rows)
    for place in range(n):  # each item at each place equally often
        assert len(set(Counter(r[place] for r in rows).values())) == 1
    pairs = Counter((a, b) for r in rows for a, b in zip(r, r[1:]))
    if n > 1:  # each ordered pair adjacent equally often (first-order carryover balance)
        assert len(pairs) == n * (n - 1) and len(set(pairs.values())) == 1


def test_each_round_runs_once_per_mode_with_at_most_one_switch_per_mode():
    models, levels, categories, modes = ["a", "b"], ["L0", "L1", "L2"], ["math", "coding", "writing"], ["15W", "7W"]
    slots = designed_order(models, levels, categories, seed=5)
    order = mode_order(slots, modes, seed=5)
    assert [s.position for s in order] == list(range(len(slots) * len(modes)))
    assert Counter(s.key for s in order) == Counter(product(models, levels, categories, modes)) and \
        max(Counter(s.key for s in order).values()) == 1
    rounds = sorted({s.round for s in order})
    for rnd in rounds:
        seq = [s.mode for s in order if s.round == rnd]
        assert switches(seq) == len(modes) - 1  # one block per mode
        blocks = [[(s.slot.model, s.slot.level, s.slot.category) for s in order if s.round == rnd and s.mode == m]
                  for m in modes]
        assert blocks[0] == blocks[1] == [(x.model, x.level, x.category) for x in slots if x.round == rnd]
    firsts = [next(s.mode for s in order if s.round == rnd) for rnd in rounds]
    rows = mode_rows(modes, 5)
    assert firsts == [rows[i % len(rows)][0] for i in range(len(rounds))]
    assert switches([s.mode for s in order]) <= len(modes) * len(rounds)


def test_mode_positions_and_idle_ranks():
    positions = mode_positions(["m"], ["L0", "L1"], ["math"], 3, ["A", "B", "C"])
    assert sorted(positions.values()) == list(range(6)) and set(positions) == set(product(["m"], ["L0", "L1"],
                                                                                           ["math"], "ABC"))
    ranks = idle_ranks(["A", "B", "C"], 3)
    first = min(positions, key=positions.get)[3]
    assert ranks[first] == 0 and sorted(ranks.values()) == [0, 1, 2]  # its baseline measured last
    assert mode_positions(["m"], ["L0", "L1"], ["math"], 3, ["A", "B", "C"]) == positions  # seeded


# ---------------------------------------------------------------- a shard in its mode


def test_a_shard_switches_into_its_mode_and_every_record_carries_it(board, tmp_path):
    from sse_stub_server import SseServer

    from slmbench.inference import run_shard
    from test_serving import _placeholder, server_spec

    root = board(mode=1)
    with SseServer() as server:  # the serving runtime against a scripted server: no model needed
        run_shard(server_spec(tmp_path, _placeholder(tmp_path), {"url": server.base_url}, power_mode="7W",
                              settle_s=0.1, sysfs_root=str(root)))
    import json

    recs = [json.loads(line) for line in (tmp_path / "shard.jsonl").read_text().splitlines()]
    assert recs and {(r["power_mode_id"], r["power_mode"].split(";")[0]) for r in recs} == {(2, "7W (nvpmodel 2)")}
    assert calls(root).count("sudo -n nvpmodel -m 2") == 1


def test_a_shard_whose_mode_cannot_be_set_stops_before_measuring(board, tmp_path):
    from slmbench.inference import run_shard
    from test_serving import _placeholder, server_spec

    root = board(mode=1, sudo_allowed=False)
    with pytest.raises(UserError, match="could not switch to MAXN"):
        run_shard(server_spec(tmp_path, _placeholder(tmp_path), {"url": "http://127.0.0.1:9/v1"},
                              power_mode="MAXN", sysfs_root=str(root)))
    assert not (tmp_path / "shard.jsonl").exists()


def test_the_doctor_checks_every_study_mode_against_the_board(board):
    from slmbench.doctor import check_power_mode

    root = board(mode=1)
    config = {"jetson": {"nvpmodel": None, "power_modes": ["MAXN", "7W"], "clocks": None, "require": False}}
    first = check_power_mode(config, apply=True, root=str(root))[0]
    assert (first.name, first.status) == ("nvpmodel", "ok")
    assert first.detail == "in 15W (nvpmodel 1); the study measures MAXN (nvpmodel 0), 7W (nvpmodel 2), each job " \
                           "switching first"
    assert [c for c in calls(root) if "-m" in c] == []  # the jobs switch, not the doctor
    config["jetson"]["power_modes"] = ["MAXN", "25W"]
    bad = check_power_mode(config, apply=True, root=str(root))[0]
    assert bad.status == "fail" and "'25W' is not defined on this board (modes: 0=MAXN, 1=15W, 2=7W)" in bad.detail
