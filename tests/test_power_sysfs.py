"""INA3221 (hwmon, legacy iio, INA238), RAPL and NVML backends, against fake sysfs trees or real hardware."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from slmbench.errors import UserError
from slmbench.power import open_sampler


def write(path: Path, text) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{text}\n")


def hwmon(root: Path, index: int, name: str, channels: dict) -> Path:
    """channels: k -> (label, mV, mA), the hwmon INA3221 layout."""
    d = root / f"sys/class/hwmon/hwmon{index}"
    write(d / "name", name)
    for k, (label, mv, ma) in channels.items():
        write(d / f"in{k}_label", label)
        write(d / f"in{k}_input", mv)
        write(d / f"curr{k}_input", ma)
    return d


def orin_nano_tree(root: Path) -> Path:
    write(root / "sys/class/hwmon/hwmon0/name", "cpu_thermal")  # not a power monitor
    write(root / "sys/class/hwmon/hwmon0/temp1_input", 45000)
    d = hwmon(root, 1, "ina3221", {1: ("VDD_IN", 5000, 1000), 2: ("VDD_CPU_GPU_CV", 5000, 100),
                                   3: ("VDD_SOC", 5000, 300)})
    write(d / "in7_label", "sum of shunt voltages")  # no curr7: not a rail
    write(d / "in7_input", 120)
    return d


def measure(sampler, seconds):
    t0 = time.monotonic()
    time.sleep(seconds)
    t1 = time.monotonic()
    return t0, t1, sampler.window(t0, t1)


def no_tegrastats(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


# -- INA3221 -------------------------------------------------------------------------------------------
def test_hwmon_orin_nano_total_is_vdd_in_polled_every_10ms(tmp_path):
    orin_nano_tree(tmp_path)
    with open_sampler("ina3221", interval_ms=100, sysfs_root=str(tmp_path)) as s:
        assert s.name == "ina3221" and s.rails == ["VDD_IN"]
        assert s.backend.period_s == pytest.approx(0.010)
        t0, t1, w = measure(s, 0.5)
    assert w.energy_j == pytest.approx(5.0 * (t1 - t0), rel=1e-6)  # 5000 mV x 1000 mA = 5000 mW
    assert w.n_samples >= 20  # ~50 at 10 ms; a loaded 2-core CI machine gets fewer


def test_hwmon_follows_a_changing_current(tmp_path):
    d = orin_nano_tree(tmp_path)
    with open_sampler("ina3221", sysfs_root=str(tmp_path)) as s:
        _, _, before = measure(s, 0.2)
        (d / "curr1_input").write_text("2000\n")
        time.sleep(0.05)
        _, _, after = measure(s, 0.2)
    assert before.mean_power_mw == pytest.approx(5000.0)
    assert after.mean_power_mw == pytest.approx(10000.0)


def test_hwmon_agx_orin_sums_three_rails_across_two_chips(tmp_path):
    hwmon(tmp_path, 2, "ina3221", {1: ("VDD_GPU_SOC", 5000, 600), 2: ("VDD_CPU_CV", 5000, 200),
                                   3: ("VIN_SYS_5V0", 5000, 400)})
    hwmon(tmp_path, 3, "ina3221", {1: ("NC", 0, 0), 2: ("VDDQ_VDD2_1V8AO", 5000, 60), 3: ("NC", 0, 0)})
    with open_sampler("ina3221", sysfs_root=str(tmp_path)) as s:
        _, _, w = measure(s, 0.2)
        assert s.rails == ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]
    assert w.mean_power_mw == pytest.approx(6000.0)


def test_legacy_iio_nano(tmp_path):
    d = tmp_path / "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0"
    for k, (label, mw) in enumerate([("POM_5V_IN", 2448), ("POM_5V_GPU", 0), ("POM_5V_CPU", 367)]):
        write(d / f"rail_name_{k}", label)
        write(d / f"in_power{k}_input", mw)
    with open_sampler("ina3221", sysfs_root=str(tmp_path)) as s:
        _, _, w = measure(s, 0.2)
        assert s.rails == ["POM_5V_IN"]
    assert w.mean_power_mw == pytest.approx(2448.0)


def test_ina238_power_in_microwatts(tmp_path):
    d = tmp_path / "sys/class/hwmon/hwmon4"
    write(d / "name", "ina238")
    write(d / "label", "VIN")
    write(d / "power1_input", 31250000)  # µW
    with open_sampler("ina3221", sysfs_root=str(tmp_path)) as s:
        _, _, w = measure(s, 0.2)
        assert s.rails == ["VIN"]
    assert w.mean_power_mw == pytest.approx(31250.0)


def test_ina3221_rails_override(tmp_path):
    orin_nano_tree(tmp_path)
    with open_sampler("ina3221", rails=["VDD_SOC", "VDD_CPU_GPU_CV"], sysfs_root=str(tmp_path)) as s:
        _, _, w = measure(s, 0.2)
    assert w.mean_power_mw == pytest.approx(2000.0)


def test_ina3221_unknown_rails_only_stop_the_run(tmp_path):
    hwmon(tmp_path, 1, "ina3221", {1: ("VDD_FOO", 5000, 100), 2: ("VDD_BAR", 5000, 100)})
    sampler = open_sampler("ina3221", sysfs_root=str(tmp_path))
    with pytest.raises(UserError, match=r"power\.backend is ina3221, but .*no known board-total rail.*VDD_BAR, "
                                        r"VDD_FOO.*set power\.rails"):
        sampler.__enter__()


def test_ina3221_unreadable_channel_stops_the_run(tmp_path):
    d = orin_nano_tree(tmp_path)
    (d / "curr1_input").write_text("not a number\n")
    sampler = open_sampler("ina3221", sysfs_root=str(tmp_path))
    with pytest.raises(UserError, match="VDD_IN give no readable value"):
        sampler.__enter__()


def test_ina3221_absent_stops_the_run(tmp_path):
    with pytest.raises(UserError, match=r"power\.backend is ina3221, but no INA3221/INA2xx power monitor"):
        open_sampler("ina3221", sysfs_root=str(tmp_path))


def test_auto_picks_ina3221_without_tegrastats(tmp_path, monkeypatch):
    no_tegrastats(monkeypatch, tmp_path)
    orin_nano_tree(tmp_path)
    with open_sampler("auto", sysfs_root=str(tmp_path)) as s:
        assert s.name == "ina3221"


# -- RAPL ----------------------------------------------------------------------------------------------
class RaplCounter:
    """Writes a RAPL energy_uj file as a counter of constant power, wrapping at max_energy_range_uj."""

    def __init__(self, domain: Path, power_w: float, max_range_uj: int):
        self.path, self.power_w, self.max_range = domain / "energy_uj", power_w, max_range_uj
        self.start = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def value(self) -> int:
        return int((123456 + self.power_w * 1e6 * (time.monotonic() - self.start)) % self.max_range)

    def run(self):
        while not self.stop.wait(0.002):
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(f"{self.value()}\n")
            os.replace(tmp, self.path)  # a reader never sees a half-written number

    def __enter__(self):
        self.path.write_text(f"{self.value()}\n")
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def rapl_domain(root: Path, rel: str, name: str, max_range_uj: int) -> Path:
    d = root / "sys/class/powercap" / rel
    write(d / "name", name)
    write(d / "max_energy_range_uj", max_range_uj)
    write(d / "energy_uj", 0)
    return d


def test_rapl_power_from_a_wrapping_counter(tmp_path):
    package = rapl_domain(tmp_path, "intel-rapl:0", "package-0", 2_000_000)  # wraps every 0.13 s at 15 W
    rapl_domain(tmp_path, "intel-rapl:0/intel-rapl:0:0", "core", 2_000_000)
    with RaplCounter(package, 15.0, 2_000_000):
        with open_sampler("rapl", interval_ms=50, sysfs_root=str(tmp_path)) as s:
            assert s.rails == ["package-0"]
            _, _, w = measure(s, 1.0)
    assert w.note is None
    assert w.mean_power_mw == pytest.approx(15000.0, rel=0.03)


def test_rapl_prefers_psys_and_honours_rails(tmp_path):
    rapl_domain(tmp_path, "intel-rapl:0", "package-0", 10**12)
    rapl_domain(tmp_path, "intel-rapl:0/intel-rapl:0:1", "dram", 10**12)
    rapl_domain(tmp_path, "intel-rapl:1", "psys", 10**12)
    from slmbench.power.backends import BackendSettings
    from slmbench.power.backends.rapl import RaplBackend

    backend = RaplBackend(BackendSettings(sysfs_root=str(tmp_path)))
    backend.start()
    assert backend.rails == ["psys"]
    assert set(backend.domains) == {"package-0", "package-0/dram", "psys"}
    with pytest.raises(UserError, match=r"power\.rails names uncore.*package-0, package-0/dram, psys"):
        RaplBackend(BackendSettings(rails=["uncore"], sysfs_root=str(tmp_path))).start()


def test_rapl_absent_stops_the_run(tmp_path):
    with pytest.raises(UserError, match=r"power\.backend is rapl, but no RAPL domain"):
        open_sampler("rapl", sysfs_root=str(tmp_path))


def run_measure_without_read_permission(root: Path):
    command = [sys.executable, "-m", "slmbench.power", "measure", "--seconds", "0.1", "--backend", "rapl",
               "--sysfs-root", str(root)]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot provoke a permission error")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_rapl_permission_error_says_how_to_grant_access(tmp_path):
    d = rapl_domain(tmp_path, "intel-rapl:0", "package-0", 10**12)
    (d / "energy_uj").chmod(0)
    out = run_measure_without_read_permission(tmp_path)
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "energy_uj: permission denied" in err and "sudo chmod a+r" in err and out.stdout == ""


# -- NVML ----------------------------------------------------------------------------------------------
def nvidia_gpu_present() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
        return count > 0
    except Exception:  # noqa: BLE001 - no package, no driver, no GPU: all mean "absent"
        return False


@pytest.mark.skipif(nvidia_gpu_present(), reason="an NVIDIA GPU is present")
def test_nvml_unavailable_stops_the_run_with_the_reason():
    with pytest.raises(UserError) as err:
        open_sampler("nvml")
    message = str(err.value)
    assert message.startswith("power.backend is nvml, but ")
    assert "nvidia-ml-py" in message or "NVML did not start" in message


@pytest.mark.skipif(not nvidia_gpu_present(), reason="needs an NVIDIA GPU with NVML")
def test_nvml_measures_a_real_gpu():
    with open_sampler("nvml", interval_ms=100) as s:
        assert s.name == "nvml" and s.rails[0] == "gpu0"
        _, _, w = measure(s, 1.5)
    assert w.note is None and w.energy_j > 0 and 5_000 < w.mean_power_mw < 2_000_000


def test_hwmon_averaging_settings_are_recorded_where_exposed(tmp_path):
    d = orin_nano_tree(tmp_path)
    with open_sampler("ina3221", interval_ms=100, sysfs_root=str(tmp_path)) as s:
        assert s.backend.sensor_settings is None  # not exposed: nothing is guessed
    write(d / "samples", 4)
    write(d / "update_interval", 2)
    with open_sampler("ina3221", interval_ms=100, sysfs_root=str(tmp_path)) as s:
        assert s.backend.sensor_settings == "hwmon1: samples=4 update_interval=2 ms"
