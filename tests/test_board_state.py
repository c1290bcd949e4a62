"""Background CPU, die temperature and throttling, from a fake /proc and /sys laid out like the real ones."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from slmbench.power.board_state import background_cpu_pct, cpu_snapshot, die_temp_c, throttled


def write_proc(root: Path, pid: int, user: int, idle: int, own_utime: int, own_stime: int) -> None:
    (root / "proc" / str(pid)).mkdir(parents=True, exist_ok=True)
    # user nice system idle iowait irq softirq steal guest guest_nice
    (root / "proc/stat").write_text(f"cpu  {user} 0 100 {idle} 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    # a command name with a space and a parenthesis, as /proc allows
    (root / f"proc/{pid}/stat").write_text(
        f"{pid} (python3 (x)) S 1 1 1 0 -1 4194560 100 0 0 0 {own_utime} {own_stime} 0 0 20 0 8 0 1 2 3\n")


def test_background_share_excludes_our_own_process(tmp_path):
    write_proc(tmp_path, 4242, user=1000, idle=5000, own_utime=100, own_stime=10)
    start = cpu_snapshot(str(tmp_path), 4242)
    # 400 ticks pass on the machine: 300 busy, of which 150 ours -> 150 / 400 = 37.5 % background
    write_proc(tmp_path, 4242, user=1300, idle=5100, own_utime=240, own_stime=20)
    end = cpu_snapshot(str(tmp_path), 4242)
    assert start.own_jiffies == 110 and end.own_jiffies == 260
    assert background_cpu_pct(start, end) == 37.5
    assert background_cpu_pct(start, start) is None  # no tick passed
    assert background_cpu_pct(None, end) is None
    assert cpu_snapshot(str(tmp_path / "nowhere")) is None


def test_real_proc_sees_a_busy_neighbour():
    start = cpu_snapshot()
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt=time.time()\nwhile time.time()-t<1.5: pass"])
    time.sleep(1.0)
    end = cpu_snapshot()
    busy.wait()
    share = background_cpu_pct(start, end)
    # one spinning process on os.cpu_count() cores: about 100 / cores percent (other load only adds)
    assert share is not None and share >= 100 / os.cpu_count() * 0.5, share


def make_zone(root: Path, n: int, kind: str, milli_c: int, passive_trip: int | None = None) -> None:
    zone = root / f"sys/class/thermal/thermal_zone{n}"
    zone.mkdir(parents=True)
    (zone / "type").write_text(kind + "\n")
    (zone / "temp").write_text(f"{milli_c}\n")
    if passive_trip is not None:
        (zone / "trip_point_0_type").write_text("critical\n")
        (zone / "trip_point_0_temp").write_text("105000\n")
        (zone / "trip_point_1_type").write_text("passive\n")
        (zone / "trip_point_1_temp").write_text(f"{passive_trip}\n")


def test_die_temperature_is_the_hottest_die_zone_not_the_board(tmp_path):
    make_zone(tmp_path, 0, "cpu-thermal", 51_250, passive_trip=95_000)
    make_zone(tmp_path, 1, "gpu-thermal", 49_000, passive_trip=95_000)
    make_zone(tmp_path, 2, "PMIC-Die", 100_000)
    assert die_temp_c(str(tmp_path)) == 51.2 or die_temp_c(str(tmp_path)) == 51.3
    assert throttled(str(tmp_path)) is False
    (tmp_path / "sys/class/thermal/thermal_zone1/temp").write_text("96000\n")
    assert die_temp_c(str(tmp_path)) == 96.0 and throttled(str(tmp_path)) is True


def test_no_thermal_zones_is_none_not_zero(tmp_path):
    assert die_temp_c(str(tmp_path)) is None and throttled(str(tmp_path)) is None
    make_zone(tmp_path, 0, "acpitz", 40_000)  # no die hint: used, but no passive trip known
    assert die_temp_c(str(tmp_path)) == 40.0 and throttled(str(tmp_path)) is None


def test_the_doctor_warns_about_monitors_running_on_the_board(tmp_path):
    from slmbench.doctor import check_monitors

    def process(pid: int, comm: str, cmdline: str) -> None:
        (tmp_path / f"proc/{pid}").mkdir(parents=True)
        (tmp_path / f"proc/{pid}/comm").write_text(comm + "\n")
        (tmp_path / f"proc/{pid}/cmdline").write_bytes(cmdline.replace(" ", "\0").encode() + b"\0")

    process(1, "systemd", "/sbin/init")
    process(77, "python3", "/usr/bin/python3 /usr/local/bin/jtop --service")  # jtop.service is a python process
    [quiet] = check_monitors(str(tmp_path), frozenset())
    assert quiet.status == "warn" and "jtop" in quiet.detail and "systemctl stop jtop.service" in quiet.detail
    [ok] = check_monitors(str(tmp_path), frozenset({77}))
    assert ok.status == "ok"
