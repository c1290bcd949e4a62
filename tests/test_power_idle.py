"""Idle baseline: measurement, warnings, the JSON file, its loader, the CLI and the Snakemake rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fake_tegrastats import install_fake_tegrastats
from slmbench.errors import UserError
from slmbench.power import idle_mismatch, load_idle, measure_idle
from slmbench.power.idle import host_id

REPO = Path(__file__).resolve().parents[1]
IDLE_KEYS = {"host", "backend", "rails", "median_mw", "iqr_mw", "n_samples", "seconds", "started_at", "warning"}


@pytest.fixture
def fake_on_path(tmp_path, monkeypatch):
    def install(**kwargs):
        exe = install_fake_tegrastats(tmp_path / "bin", **kwargs)
        monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
        return exe

    return install


def empty_root(tmp_path):
    (tmp_path / "root").mkdir(exist_ok=True)
    return str(tmp_path / "root")


def power_cli(*args):
    return subprocess.run([sys.executable, "-m", "slmbench.power", *args], capture_output=True, text=True,
                          timeout=120)


def test_quiet_board_gives_median_iqr_and_no_warning(fake_on_path, tmp_path):
    fake_on_path(profile_mw=[4000, 4010, 3990, 4005], fmt="jp6")
    result = measure_idle("tegrastats", seconds=1.0, settle_seconds=0.2, interval_ms=50,
                          sysfs_root=empty_root(tmp_path))
    assert IDLE_KEYS <= set(result)
    assert result["backend"] == "tegrastats" and result["rails"] == ["VDD_IN"]
    assert 3990 <= result["median_mw"] <= 4010 and result["iqr_mw"] <= 20
    assert 12 <= result["n_samples"] <= 22 and result["warning"] is None
    assert result["mean_mw"] == pytest.approx(4000, abs=15)
    assert result["host"] == host_id() and result["seconds"] == 1.0


def test_busy_board_is_warned_about(fake_on_path, tmp_path):
    fake_on_path(profile_mw=[4000, 7000], fmt="jp6")
    result = measure_idle("tegrastats", seconds=0.8, settle_seconds=0, interval_ms=50,
                          sysfs_root=empty_root(tmp_path))
    assert result["iqr_mw"] >= 2000
    assert "idle power varied" in result["warning"] and "something was running" in result["warning"]


def test_unsettled_board_is_warned_about(fake_on_path, tmp_path):
    fake_on_path(profile_mw={"kind": "ramp", "start_mw": 3000, "slope_mw_per_s": 1500}, fmt="jp6")
    result = measure_idle("tegrastats", seconds=1.0, settle_seconds=0, interval_ms=50,
                          sysfs_root=empty_root(tmp_path))
    assert "drifted" in result["warning"] and "settle_seconds" in result["warning"]


def test_too_few_samples_are_warned_about(fake_on_path, tmp_path):
    fake_on_path(profile_mw=4000)
    result = measure_idle("tegrastats", seconds=0.25, settle_seconds=0, interval_ms=100,
                          sysfs_root=empty_root(tmp_path))
    assert result["n_samples"] < 5 and "raise power.idle_seconds" in result["warning"]


def test_backend_none_finishes_at_once_with_null_median(tmp_path):
    out = tmp_path / "power" / "idle_x.json"
    start = time.monotonic()
    done = power_cli("idle", "--out", str(out), "--backend", "none", "--seconds", "10", "--settle", "5",
                     "--interval-ms", "100")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 5  # no settling, no sampling: there is nothing to sample
    data = json.loads(out.read_text())
    assert IDLE_KEYS <= set(data)
    assert data["median_mw"] is None and data["n_samples"] == 0 and data["backend"] == "none"
    assert data["note"].startswith("no power sensor")
    assert load_idle(out)["median_mw"] is None


def test_idle_cli_with_the_fake_writes_the_file(fake_on_path, tmp_path):
    fake_on_path(profile_mw=3500, fmt="jp4")
    out = tmp_path / "idle.json"
    done = power_cli("idle", "--out", str(out), "--backend", "tegrastats", "--seconds", "0.6", "--settle", "0.1",
                     "--interval-ms", "50", "--sysfs-root", empty_root(tmp_path), "--rails")
    assert done.returncode == 0, done.stderr
    data = load_idle(out)
    assert data["median_mw"] == 3500.0 and data["rails"] == ["POM_5V_IN"] and data["iqr_mw"] == 0
    assert "idle baseline" in done.stderr and "3500 mW" in done.stderr
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".part")] == []


def test_failing_idle_keeps_the_previous_file_and_leaves_no_partial(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tegrastats
    out = tmp_path / "idle.json"
    out.write_text('{"median_mw": 4100.0}\n')
    done = power_cli("idle", "--out", str(out), "--backend", "tegrastats", "--seconds", "1", "--settle", "0",
                     "--interval-ms", "100")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith("slmbench: error: power.backend is tegrastats, but tegrastats not found")
    assert out.read_text() == '{"median_mw": 4100.0}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idle.json"]


def test_idle_for_another_host_is_refused(tmp_path):
    out = tmp_path / "idle_other.json"
    done = power_cli("idle", "--out", str(out), "--host", "some-other-board", "--backend", "none",
                     "--seconds", "1", "--settle", "0", "--interval-ms", "100")
    assert done.returncode == 2 and "host some-other-board" in done.stderr and not out.exists()


@pytest.mark.parametrize("seconds,settle", [("0", "0"), ("1", "-1")])
def test_bad_durations_are_user_errors(tmp_path, seconds, settle):
    out = tmp_path / "idle.json"
    done = power_cli("idle", "--out", str(out), "--backend", "none", "--seconds", seconds, "--settle", settle,
                     "--interval-ms", "100")
    assert done.returncode == 2 and "power.idle_seconds" in done.stderr and not out.exists()


@pytest.mark.parametrize("content,match", [
    ("{not json", r"idle\.json: not valid JSON"),
    ('{"median_mw": "4000"}', r"idle\.json: median_mw must be a number or null, found '4000'"),
    ("[1, 2]", r"idle\.json: no median_mw key"),
    ('{"median": 4000}', r"idle\.json: no median_mw key"),
    ('{"median_mw": true}', r"idle\.json: median_mw must be a number or null"),
])
def test_load_idle_rejects_bad_files_naming_them(tmp_path, content, match):
    path = tmp_path / "idle.json"
    path.write_text(content)
    with pytest.raises(UserError, match=match):
        load_idle(path)
    assert path.read_text() == content


def test_load_idle_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"absent\.json.*run the power_idle rule"):
        load_idle(tmp_path / "absent.json")


def test_load_idle_returns_float_median(tmp_path):
    path = tmp_path / "idle.json"
    path.write_text('{"median_mw": 4000, "backend": "tegrastats"}')
    assert load_idle(path) == {"median_mw": 4000.0, "backend": "tegrastats"}


# -- the Snakemake rule ----------------------------------------------------------------------------------
def full_cli_available() -> bool:
    """The rule runs `slmbench.cli`, which registers every stage; skip while another stage is missing."""
    probe = subprocess.run([sys.executable, "-c", "from slmbench.cli import build_parser; build_parser()"],
                           capture_output=True, text=True, timeout=60)
    return probe.returncode == 0


def run_idle_rule(tmp_path, power):
    config = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    config["results_dir"] = "out"
    config["power"].update(power)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    # A workflow of only common.smk + power.smk, laid out like the repository (common.smk finds the schema and
    # the package source beside its Snakefile).
    for name in ("workflow", "src"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "Snakefile").write_text(
        'configfile: "config.yaml"\n'
        'include: "workflow/rules/common.smk"\n'
        'include: "workflow/rules/power.smk"\n'
    )
    target = f"out/power/idle_{host_id()}.json"
    # With tegrastats the study's board jobs wait for the doctor's report (doctor.smk); this test is about the idle
    # rule alone, so the board counts as checked.
    (tmp_path / "out").mkdir()
    (tmp_path / f"out/doctor_{host_id()}.txt").write_text("checked by the test\n")
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", target, "--resources", "jetson=1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    return done, tmp_path / target


@pytest.mark.slow
def test_idle_rule_with_backend_none(tmp_path):
    if not full_cli_available():
        pytest.skip("slmbench.cli cannot register every stage yet (another stage's module is missing)")
    done, target = run_idle_rule(tmp_path, {"backend": "none", "idle_seconds": 30, "settle_seconds": 30})
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(target.read_text())
    assert data["median_mw"] is None and data["note"] == "no power sensor: power.backend is none"
    assert (tmp_path / f"out/logs/power/idle_{host_id()}.log").exists()


@pytest.mark.slow
def test_idle_rule_with_the_fake_tegrastats(tmp_path, fake_on_path):
    if not full_cli_available():
        pytest.skip("slmbench.cli cannot register every stage yet (another stage's module is missing)")
    fake_on_path(profile_mw=4400, fmt="jp6")
    done, target = run_idle_rule(tmp_path, {"backend": "tegrastats", "idle_seconds": 0.5, "settle_seconds": 0,
                                            "interval_ms": 50, "rails": ["VDD_IN"]})
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(target.read_text())
    assert data["median_mw"] == 4400.0 and data["rails"] == ["VDD_IN"] and data["backend"] == "tegrastats"


def test_idle_mismatch_names_both_sensors():
    idle = {"median_mw": 4000.0, "backend": "tegrastats", "rails": ["VDD_IN"]}
    assert idle_mismatch(idle, "tegrastats", ["VDD_IN"]) is None
    note = idle_mismatch(idle, "ina3221", ["VDD_IN"])
    assert "tegrastats ['VDD_IN']" in note and "ina3221 ['VDD_IN']" in note and "re-measure" in note
    assert idle_mismatch(idle, "tegrastats", ["VDD_SOC"]) is not None
    assert idle_mismatch({"median_mw": None, "backend": "none", "rails": None}, "tegrastats", ["VDD_IN"]) is None
