"""The long-lived sampler against a fake `tegrastats` first on PATH: a real child process, real parsing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from fake_tegrastats import expected_energy_j, install_fake_tegrastats, pid_alive, read_calls
from slmbench.errors import UserError
from slmbench.power import open_sampler
from slmbench.power import sampler as sampler_module
from slmbench.power.backends.tegrastats import backdate


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """Install a fake tegrastats (call with install_fake_tegrastats' arguments) first on PATH."""
    directory = tmp_path / "bin"

    def install(**kwargs):
        exe = install_fake_tegrastats(directory, **kwargs)
        monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
        return exe

    install.directory = directory
    return install


def empty_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    return str(root)


def measure(sampler, seconds):
    t0 = time.monotonic()
    time.sleep(seconds)
    t1 = time.monotonic()
    return t0, t1, sampler.window(t0, t1)


def test_constant_profile_energy_and_our_child_stopped(fake_bin, tmp_path):
    fake_bin(profile_mw=5000, fmt="jp6")
    sampler = open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path))
    with sampler:
        assert sampler.name == "tegrastats" and sampler.rails == ["VDD_IN"] and sampler.note is None
        t0, t1, w = measure(sampler, 1.0)
    assert w.note is None
    assert w.energy_j == pytest.approx(5.0 * (t1 - t0), rel=1e-6)
    assert w.mean_power_mw == pytest.approx(5000.0)
    assert 12 <= w.n_samples <= 22  # 1 s at 50 ms (fewer when a loaded machine delays the child)
    calls = read_calls(fake_bin.directory)
    start = next(c for c in calls if c["event"] == "start")
    assert start["argv"] == ["--interval", "50"]
    assert any(c["event"] == "terminated" and c["pid"] == start["pid"] for c in calls)
    assert not any(c["event"] == "stop-all" for c in calls)  # never `tegrastats --stop`
    assert not pid_alive(start["pid"])


@pytest.mark.parametrize("fmt,interval_ms", [("jp4", 50), ("agx_xavier", 50), ("jp5", 50), ("jp6", 20), ("jp7", 50)])
def test_every_format_measures_the_profile(fake_bin, tmp_path, fmt, interval_ms):
    profile = {"kind": "sine", "mean_mw": 6000.0, "amplitude_mw": 1500.0, "period_s": 2.0}
    fake_bin(profile_mw=profile, fmt=fmt)
    with open_sampler("tegrastats", interval_ms=interval_ms, sysfs_root=empty_root(tmp_path)) as sampler:
        t0, t1, w = measure(sampler, 0.8)
    assert w.note is None, w.note
    assert w.energy_j == pytest.approx(expected_energy_j(profile, t0, t1), rel=0.03)


def test_garbage_lines_between_readings_do_not_break_the_window(fake_bin, tmp_path):
    fake_bin(profile_mw=4000, fmt="jp6", garbage_every=3)
    with open_sampler("tegrastats", interval_ms=40, sysfs_root=empty_root(tmp_path)) as sampler:
        t0, t1, w = measure(sampler, 0.6)
    assert w.energy_j == pytest.approx(4.0 * (t1 - t0), rel=1e-6)


def test_stalled_tegrastats_gives_null_with_the_reason(fake_bin, tmp_path):
    fake_bin(profile_mw=4000, stall_after_lines=4)
    with open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path)) as sampler:
        time.sleep(0.4)
        start = time.monotonic()
        _, _, w = measure(sampler, 0.1)
        waited = time.monotonic() - start - 0.1
    assert w.energy_j is None and w.mean_power_mw is None
    assert "stalled" in w.note
    assert waited < 3 * 0.05 + 0.3  # the wait for a late sample is bounded by the gap limit


def test_tegrastats_that_keeps_exiting_gives_null_with_its_exit_code(fake_bin, tmp_path):
    fake_bin(profile_mw=4000, exit_after_lines=3)
    with open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path)) as sampler:
        # every restart dies after 3 lines too: after MAX_RESTARTS the sampler gives up
        assert wait_until(lambda: len(sampler.restarts) >= sampler_module.MAX_RESTARTS, 20)
        time.sleep(0.5)
        _, _, w = measure(sampler, 0.1)
    assert w.energy_j is None and "tegrastats exited (code 3)" in w.note
    assert all("tegrastats exited (code 3)" in reason for reason in sampler.restarts)


def test_tegrastats_dying_once_mid_shard_is_restarted_and_later_windows_are_measured(fake_bin, tmp_path):
    # the restarted child's first line 0.4 s late, well over the gap limit (3 x 50 ms) however fast the restart
    fake_bin(profile_mw=4000, exit_after_lines=5, exits_first_n=1, restart_delay_s=0.4)
    with open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path)) as sampler:
        t_before = time.monotonic()
        assert wait_until(lambda: sampler.restarts, 10)
        time.sleep(0.9)  # the restarted child delivers again
        t_mid = time.monotonic()
        _, t_end, later = measure(sampler, 0.3)
        across = sampler.window(t_before, t_mid)
    assert later.energy_j == pytest.approx(4.0 * 0.3, rel=0.05) and later.note is None
    assert across.energy_j is None and "gap" in across.note  # the window over the gap is not guessed
    assert len(sampler.restarts) == 1 and "tegrastats exited (code 3)" in sampler.restarts[0]
    starts = [c for c in read_calls(fake_bin.directory) if c["event"] == "start"]
    assert len(starts) == 2


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_named_backend_that_fails_to_start_stops_the_run(fake_bin, tmp_path):
    fake_bin(exit_code=1, stderr_text="Error: could not open /sys/kernel/debug (permission denied)")
    sampler = open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path))
    with pytest.raises(UserError) as err:
        sampler.__enter__()
    message = str(err.value)
    assert message.startswith("power.backend is tegrastats, but tegrastats exited (code 1)")
    assert "permission denied" in message and "\n" not in message


def test_unknown_board_needs_rails_and_measures_with_them(fake_bin, tmp_path):
    fake_bin(profile_mw=3000, fmt="unknown_board")
    sampler = open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path))
    with pytest.raises(UserError, match=r"no known board-total rail among the rails reported \(VDD_BAR, VDD_FOO\); "
                                        r"set power\.rails .* within 3\.0 s"):
        sampler.__enter__()
    with open_sampler("tegrastats", interval_ms=50, rails=["VDD_FOO", "VDD_BAR"], sysfs_root=empty_root(tmp_path)) as s:
        _, _, w = measure(s, 0.3)
    assert w.mean_power_mw == pytest.approx(3000.0)


def test_tegrastats_printing_only_garbage_stops_the_run(fake_bin, tmp_path):
    fake_bin(profile_mw=3000, garbage_every=1)
    sampler = open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path))
    with pytest.raises(UserError, match=r"tegrastats printed no power reading within 3\.0 s"):
        sampler.__enter__()
    assert not any(c["event"] == "start" and pid_alive(c["pid"]) for c in read_calls(fake_bin.directory))


def test_named_backend_missing_stops_before_anything_starts(tmp_path):
    with pytest.raises(UserError, match=r"power\.backend is tegrastats, but tegrastats not found.*no-such"):
        open_sampler("tegrastats", tegrastats_path=str(tmp_path / "no-such-tegrastats"))


def test_tegrastats_path_setting_is_used(tmp_path):
    exe = install_fake_tegrastats(tmp_path / "elsewhere", profile_mw=3000, name="my-tegrastats")
    with open_sampler("tegrastats", interval_ms=50, tegrastats_path=str(exe), sysfs_root=empty_root(tmp_path)) as s:
        _, _, w = measure(s, 0.3)
    assert w.mean_power_mw == pytest.approx(3000.0)


def test_rails_override(fake_bin, tmp_path):
    fake_bin(profile_mw=5000, fmt="jp6")
    with open_sampler("tegrastats", interval_ms=50, rails=["VDD_SOC"], sysfs_root=empty_root(tmp_path)) as s:
        assert s.rails == ["VDD_SOC"]
        _, _, w = measure(s, 0.3)
    assert w.mean_power_mw == pytest.approx(1500.0)  # the fake's VDD_SOC is 30 % of VDD_IN


def test_rails_override_naming_an_absent_rail_stops_the_run(fake_bin, tmp_path):
    fake_bin(profile_mw=5000, fmt="jp6")
    sampler = open_sampler("tegrastats", interval_ms=50, rails=["VDD_GPU"], sysfs_root=empty_root(tmp_path))
    with pytest.raises(UserError, match=r"power\.rails names VDD_GPU.*VDD_IN"):
        sampler.__enter__()


def test_board_model_from_the_device_tree_chooses_the_rails(fake_bin, tmp_path):
    fake_bin(profile_mw=6000, fmt="jp5")
    root = tmp_path / "root"
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"NVIDIA Jetson AGX Orin Developer Kit\0")
    with open_sampler("tegrastats", interval_ms=50, sysfs_root=str(root)) as s:
        _, _, w = measure(s, 0.3)
        assert s.rails == ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]
    assert w.mean_power_mw == pytest.approx(6000.0)  # VDDQ_VDD2_1V8AO (a sub-rail) not added


def test_window_right_after_the_call_waits_for_the_closing_sample(fake_bin, tmp_path):
    fake_bin(profile_mw=2000)
    with open_sampler("tegrastats", interval_ms=100, sysfs_root=empty_root(tmp_path)) as s:
        t0 = time.monotonic()
        time.sleep(0.25)
        w = s.window(t0, time.monotonic())  # no sample after t1 yet: the window waits for it
    assert w.energy_j is not None and w.mean_power_mw == pytest.approx(2000.0)


def test_window_older_than_the_bounded_buffer_is_null(fake_bin, tmp_path, monkeypatch):
    monkeypatch.setattr(sampler_module, "MIN_BUFFER", 4)
    fake_bin(profile_mw=2000)
    sampler = open_sampler("tegrastats", interval_ms=20, sysfs_root=empty_root(tmp_path))
    sampler.buffer_seconds = 0.1  # keep 5 samples (trimmed when 10 are held)
    with sampler:
        t0 = time.monotonic()
        time.sleep(0.5)
        w = sampler.window(t0, t0 + 0.05)
        assert len(sampler._times) <= 10
    assert w.energy_j is None and "before the first power sample" in w.note


def test_auto_picks_tegrastats_when_on_path(fake_bin, tmp_path):
    fake_bin(profile_mw=2500)
    with open_sampler("auto", interval_ms=50, sysfs_root=empty_root(tmp_path)) as s:
        assert s.name == "tegrastats"
        _, _, w = measure(s, 0.2)
    assert w.mean_power_mw == pytest.approx(2500.0)


def test_auto_falls_back_when_tegrastats_cannot_start(fake_bin, tmp_path):
    fake_bin(exit_code=1, stderr_text="no power rails here")
    with open_sampler("auto", interval_ms=50, sysfs_root=empty_root(tmp_path)) as s:
        _, _, w = measure(s, 0.05)
        assert s.name == "none"
    assert w.energy_j is None and w.note.startswith("no power sensor: auto found no working backend")
    assert "no power rails here" in w.note


def test_auto_with_no_sensor_measures_nothing_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tegrastats
    sampler = open_sampler("auto", sysfs_root=empty_root(tmp_path))
    assert sampler.name == "none" and sampler.rails is None
    with sampler:
        _, _, w = measure(sampler, 0.01)
    assert w.energy_j is None and w.n_samples is None and w.mean_power_mw is None
    assert w.note.startswith("no power sensor: auto found no backend")
    assert sampler.note == w.note and "tegrastats" in w.note and "rapl" in w.note


def test_backend_none(tmp_path):
    with open_sampler("none") as s:
        assert s.name == "none" and s.rails is None
        _, _, w = measure(s, 0.01)
    assert w.energy_j is None and w.note == "no power sensor: power.backend is none"


@pytest.mark.parametrize("kwargs,match", [
    (dict(backend="tegrastat"), r"power\.backend 'tegrastat' is unknown; did you mean tegrastats\?"),
    (dict(backend="auto", interval_ms=0), r"power\.interval_ms is 0"),
    (dict(backend="auto", max_gap_factor=1.0), r"power\.max_gap_factor is 1\.0"),
])
def test_bad_settings_are_user_errors(kwargs, match):
    with pytest.raises(UserError, match=match):
        open_sampler(**kwargs)


def test_another_users_tegrastats_is_left_running(fake_bin, tmp_path):
    exe = fake_bin(profile_mw=1000)
    other = subprocess.Popen([str(exe), "--interval", "200"], stdout=subprocess.DEVNULL)
    try:
        with open_sampler("tegrastats", interval_ms=50, sysfs_root=empty_root(tmp_path)) as s:
            measure(s, 0.1)
        time.sleep(0.2)
        assert other.poll() is None
        ours = [c["pid"] for c in read_calls(fake_bin.directory) if c["event"] == "start" and c["pid"] != other.pid]
        assert len(ours) == 1 and not pid_alive(ours[0])
    finally:
        other.terminate()
        other.wait(timeout=5)


def test_a_killed_shard_leaves_no_orphan_tegrastats(fake_bin, tmp_path):
    fake_bin(profile_mw=1000)
    script = textwrap.dedent(f"""
        import os, signal, time
        from slmbench.power import open_sampler
        s = open_sampler("tegrastats", interval_ms=50, sysfs_root={empty_root(tmp_path)!r}).__enter__()
        print("started", flush=True)
        time.sleep(30)
    """)
    shard = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        assert shard.stdout.readline().strip() == "started"
        child = next(c["pid"] for c in read_calls(fake_bin.directory) if c["event"] == "start")
        shard.send_signal(signal.SIGKILL)
        shard.wait(timeout=10)
        deadline = time.monotonic() + 5
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(child)
    finally:
        if shard.poll() is None:
            shard.kill()
        if child is not None and pid_alive(child):  # the orphan this test exists to prevent
            os.kill(child, signal.SIGKILL)


def test_lines_read_together_are_stamped_a_period_apart():
    assert backdate(10.0, 3, 0.1, 0.0) == pytest.approx([9.8, 9.9, 10.0])
    stamps = backdate(10.0, 3, 0.1, 9.85)  # never before or at the previous sample
    assert stamps[0] > 9.85 and stamps == sorted(stamps) and stamps[-1] == 10.0


def test_measure_cli_with_the_fake(fake_bin, tmp_path):
    fake_bin(profile_mw=4200, fmt="jp4")
    out = subprocess.run([sys.executable, "-m", "slmbench.power", "measure", "--seconds", "0.5", "--interval-ms",
                          "50", "--sysfs-root", empty_root(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"backend", "n_samples", "duration_s", "mean_power_mw", "energy_j"} <= set(result)
    assert result["backend"] == "tegrastats" and result["mean_power_mw"] == pytest.approx(4200.0)
    assert result["energy_j"] == pytest.approx(4.2 * result["duration_s"], rel=1e-6)
    assert 7 <= result["n_samples"] <= 12
