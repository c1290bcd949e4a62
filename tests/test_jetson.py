"""Board facts and the power mode, against real fake executables (nvpmodel, jetson_clocks, sudo) on PATH."""

from __future__ import annotations

import json
import os

import pytest

from fake_jetson import calls, install_fake_jetson
from slmbench import jetson


@pytest.fixture
def board(tmp_path, monkeypatch):
    """A fake Orin Nano in 15W mode with scaling clocks; the tests act as a non-root user (sudo needed)."""

    def make(**kwargs):
        root = install_fake_jetson(tmp_path, **kwargs)
        monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_JETSON_ROOT", str(root))
        monkeypatch.setattr(jetson.os, "geteuid", lambda: 1000)
        return root

    return make


def test_board_model_and_l4t_release(board):
    root = board()
    assert jetson.board_model(str(root)) == "NVIDIA Jetson Orin Nano Developer Kit"
    assert jetson.l4t_version(str(root)) == "36.4.0"
    assert jetson.jetpack_major("36.4.0") == "6" and jetson.jetpack_major("35.5.0") == "5"


def test_off_a_jetson_everything_is_none(tmp_path):
    assert jetson.board_model(str(tmp_path)) is None
    assert jetson.l4t_version(str(tmp_path)) is None
    assert jetson.clocks_state(str(tmp_path)) is None
    assert jetson.nvpmodel_modes(str(tmp_path)) == {}


def test_query_reads_mode_name_and_id(board):
    board(mode=1)
    mode = jetson.query_nvpmodel()
    assert (mode.mode_id, mode.name) == (1, "15W")
    assert str(mode) == "15W (nvpmodel 1)"


def test_modes_resolve_by_name_or_id_and_unknown_names_list_the_board_modes(board):
    root = board()
    modes = jetson.nvpmodel_modes(str(root))
    assert modes == {0: "MAXN", 1: "15W", 2: "7W"}
    assert jetson.resolve_mode("maxn", modes) == 0 and jetson.resolve_mode(2, modes) == 2
    assert jetson.resolve_mode("1", modes) == 1
    with pytest.raises(ValueError, match=r"MAXN_SUPER.*0=MAXN, 1=15W, 2=7W"):
        jetson.resolve_mode("MAXN_SUPER", modes)
    with pytest.raises(ValueError, match="mode 9"):
        jetson.resolve_mode(9, modes)


def test_apply_switches_mode_through_sudo_n_and_pins_clocks(board):
    root = board(mode=1, sudo_allowed=True)
    assert jetson.clocks_state(str(root)) == "dynamic"
    result = jetson.apply_nvpmodel("MAXN", str(root))
    assert result.ok and "switched from 15W (nvpmodel 1) to MAXN (nvpmodel 0)" in result.message
    clocks = jetson.apply_clocks("max", str(root))
    assert clocks.ok and jetson.clocks_state(str(root)) == "max"
    log = calls(root)
    assert "sudo -n nvpmodel -m 0" in log and "sudo -n jetson_clocks" in log
    assert jetson.power_mode_description(str(root)) == "MAXN (nvpmodel 0); clocks max"


def test_apply_does_nothing_when_already_in_the_mode(board):
    root = board(mode=0, clocks_max=True)
    assert jetson.apply_nvpmodel(0, str(root)).message == "already in MAXN (nvpmodel 0)"
    assert jetson.apply_clocks("max", str(root)).message == "already at max"
    assert not [c for c in calls(root) if c.startswith("sudo")]


def test_sudo_refused_leaves_the_mode_and_says_how_to_fix(board):
    root = board(mode=1, sudo_allowed=False)
    result = jetson.apply_nvpmodel("MAXN", str(root))
    assert not result.ok
    assert "still in 15W (nvpmodel 1)" in result.message and "a password is required" in result.message
    assert "sudo nvpmodel -m 0" in result.message and "sudoers" in result.message
    assert jetson.query_nvpmodel().mode_id == 1
    clocks = jetson.apply_clocks("max", str(root))
    assert not clocks.ok and "sudo -n jetson_clocks failed" in clocks.message
    assert jetson.clocks_state(str(root)) == "dynamic"


def test_unknown_mode_is_not_applied(board):
    root = board(mode=1)
    result = jetson.apply_nvpmodel("MAXN_SUPER", str(root))
    assert not result.ok and "jetson.nvpmodel" in result.message and "1=15W" in result.message
    assert not [c for c in calls(root) if c.startswith("sudo")]


def test_nvpmodel_resets_clocks_so_mode_comes_before_clocks(board):
    root = board(mode=1, clocks_max=True)
    assert jetson.apply_nvpmodel(0, str(root)).ok
    assert jetson.clocks_state(str(root)) == "dynamic"  # the real nvpmodel does this too


def test_every_run_record_carries_the_power_mode(board, tmp_path, tiny_model):
    from slmbench.inference import run_shard
    from test_inference import spec

    board(mode=0)
    run_shard(spec(tmp_path, tiny_model, settings_changes={"max_tokens": 4}))
    records = [json.loads(line) for line in (tmp_path / "shard.jsonl").read_text().splitlines()]
    assert records and {r["power_mode"] for r in records} == {"MAXN (nvpmodel 0)"}


def test_clocks_state_counts_the_gpu_devfreq_node(tmp_path):
    root = install_fake_jetson(tmp_path, clocks_max=True)
    gpu = root / "sys/class/devfreq/17000000.gpu"
    (gpu / "device/of_node").mkdir(parents=True)
    (gpu / "device/of_node/compatible").write_bytes(b"nvidia,ga10b\0")
    (gpu / "min_freq").write_text("306000000\n")
    (gpu / "max_freq").write_text("624750000\n")
    assert jetson.clocks_state(str(root)) == "dynamic"
    (gpu / "min_freq").write_text("624750000\n")
    assert jetson.clocks_state(str(root)) == "max"
    other = root / "sys/class/devfreq/emc"
    other.mkdir()
    (other / "min_freq").write_text("1\n")
    (other / "max_freq").write_text("2\n")
    assert jetson.clocks_state(str(root)) == "max"  # not a GPU: ignored
