"""The measurement protocol, run for real: quiet windows, the designed order, one run per results directory,
a power sensor that dies mid-shard. Real Snakemake, the tiny model, a fake tegrastats first on PATH."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from fake_tegrastats import install_fake_tegrastats
from pipeline_helpers import REPO, snakemake, wait_for
from slmbench.run_order import levels_are_blockwise

pytestmark = pytest.mark.slow

def with_fake_tegrastats(tmp: Path, **kwargs) -> dict:
    bin_dir = tmp / "bin"
    install_fake_tegrastats(bin_dir, profile_mw=6000, **kwargs)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def records(work: Path) -> list[dict]:
    runs = work / "results/demo/runs_llamacpp.jsonl"
    return [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def measured_demo(demo_study):
    """The session's demo study (tests/demo_study.py): --cores 2, a fake tegrastats first on PATH."""
    return demo_study.work, demo_study.console


def test_no_verdict_falls_inside_a_measured_window(measured_demo):
    work, _ = measured_demo
    windows = []
    for record in records(work):
        start = stamp(record["started_at"])
        assert "." in record["started_at"], "started_at needs milliseconds"
        windows.append((start, start + timedelta(milliseconds=record["latency_ms"])))
    judged = []
    with open(work / "results/demo/scores_absolute.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("judged_at"):
                assert "." in row["judged_at"], "judged_at needs milliseconds"
                judged.append(stamp(row["judged_at"]))
    assert judged and windows
    inside = [(j, w) for j in judged for w in windows if w[0] <= j <= w[1]]
    assert not inside, f"verdicts written inside measured windows: {inside[:3]}"


def test_records_carry_the_protocol_fields_and_the_designed_order(measured_demo):
    work, _ = measured_demo
    rows = records(work)
    for record in rows:
        for field in ("run_index", "shard_position", "load_s", "temp_c_start", "temp_c_end", "energy_prefill_j",
                      "energy_decode_j", "background_cpu_pct", "order_seed", "board"):
            assert field in record, field
        assert record["load_s"] > 0
        if None in (record["energy_prefill_j"], record["energy_decode_j"]):  # a part under two sampling periods
            assert "shorter than two sampling periods" in record["energy_note"]  # is not measured, and says why
        else:
            assert record["energy_j"] == pytest.approx(record["energy_prefill_j"] + record["energy_decode_j"],
                                                       abs=1e-9)
        assert 0 <= record["background_cpu_pct"] <= 100
    by_index = sorted(rows, key=lambda r: r["run_index"])
    assert [r["run_index"] for r in by_index] == sorted(set(r["run_index"] for r in rows))
    # the order really happened: run_index follows the wall clock
    assert [r["started_at"] for r in by_index] == sorted(r["started_at"] for r in rows)
    assert not levels_are_blockwise([r["level"] for r in by_index])


def test_a_second_run_under_another_host_name_is_refused_and_no_shard_runs_twice(demo_workdir):
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("unshare -u needs root")
    study = demo_workdir(categories=["math"], levels=["L0", "L1"],
                         **{"inference.max_tokens": 48, "judge.max_tokens": 64})
    work = study.work
    env = {**os.environ, **study.env}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", "config/test.yaml", "--cores", "1"]
    first = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    owner = work / ".snakemake/slmbench_owner.json"
    assert wait_for(lambda: owner.exists() and json.loads(owner.read_text())["pid"] == first.pid, 120)
    second = subprocess.run(["unshare", "-u", "sh", "-c", 'hostname otherboard && exec "$@"', "sh", *cmd],
                            cwd=work, env=env, capture_output=True, text=True, timeout=300)
    out, _ = first.communicate(timeout=1500)
    assert first.returncode == 0, out[-4000:]
    assert second.returncode != 0
    message = [line for line in second.stderr.splitlines() if "is working on the study" in line]  # the study lock
    assert len(message) == 1 and "Traceback" not in second.stderr, second.stderr[-2000:]
    shard_logs = sorted((work / "results/demo/logs/inference").rglob("*.log"))
    assert len(shard_logs) == 2
    for log in shard_logs:  # every shard ran once: one closing line per log, one start per shard
        assert log.read_text().count("records,") == 1, log.read_text()


def test_a_sensor_that_dies_mid_shard_makes_the_shard_redo_with_energy(tmp_path, demo_workdir):
    work = demo_workdir(categories=["math"], levels=["L0"],
                        **{"inference.max_tokens": 64, "judge.max_tokens": 64, "power.idle_per_shard_s": 0,
                           "power.backend": "tegrastats"}).work
    env = with_fake_tegrastats(tmp_path, exit_after_s=2.0, sick_until_healed=True)
    healed = tmp_path / "bin/tegrastats.healed"
    healed.touch()  # the idle baseline and the doctor see a healthy sensor
    snakemake(work, "--cores", "1", "results/demo/power/idle_" + _host() + ".json", env=env)
    healed.unlink()
    first = snakemake(work, "--cores", "1", env=env, check=False)
    shard = work / "results/demo/shards/gemma3-270m/L0/math.jsonl"
    assert first.returncode != 0 and not shard.exists()
    assert "no energy" in (first.stdout + first.stderr)
    healed.touch()
    snakemake(work, "--cores", "1", env=env)
    rows = [json.loads(line) for line in shard.read_text().splitlines()]
    assert rows and all(r["energy_gross_j"] is not None for r in rows)


def _host() -> str:
    import socket

    return "".join(c if c.isalnum() or c in "._-" else "_" for c in socket.gethostname()) or "host"
