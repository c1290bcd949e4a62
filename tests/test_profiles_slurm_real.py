"""profiles/slurm against a real single-node SLURM (Debian's slurmctld, slurmd and munge, started here).

The node plays a Jetson board: partition `jetson`, listed in jetson.hosts. One inference shard of the demo
(the tiny model, 8 tokens) goes through sbatch; its idle baseline and the shard must run pinned to the node,
alone on it, in the jetson partition, and the prompt jobs anywhere. Skipped where the SLURM packages are not
installed (apt-get install slurmctld slurmd slurm-client munge) or when not root (the daemons need it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from pipeline_helpers import make_workdir, snakemake
from slmbench.models import verify_model
from slmbench.power.idle import host_id

pytestmark = pytest.mark.slow

DAEMONS = ["munged", "slurmctld", "slurmd"]
CLIENTS = ["sbatch", "squeue", "sinfo", "srun", "scontrol"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _slurm_conf(base: Path, host: str) -> str:
    return "\n".join([
        "ClusterName=slmbenchtest", f"SlurmctldHost={host}", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={base}/munge.socket",
        f"StateSaveLocation={base}/state", f"SlurmdSpoolDir={base}/spool",
        f"SlurmctldPidFile={base}/slurmctld.pid", f"SlurmdPidFile={base}/slurmd.pid",
        f"SlurmctldLogFile={base}/slurmctld.log", f"SlurmdLogFile={base}/slurmd.log",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "SchedulerType=sched/builtin", "MpiDefault=none", "ReturnToService=2",
        "MinJobAge=3600",  # finished jobs stay visible to squeue (no accounting database here)
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        f"NodeName={host} CPUs={os.cpu_count()} RealMemory=2000 State=UNKNOWN",
        f"PartitionName=jetson Nodes={host} Default=YES MaxTime=INFINITE State=UP",
    ]) + "\n"


@pytest.fixture
def slurm_cluster(tmp_path):
    """munged + slurmctld + slurmd on this machine, configured under tmp_path; stopped afterwards."""
    missing = [name for name in DAEMONS + CLIENTS if not shutil.which(name) and not Path(f"/usr/sbin/{name}").exists()]
    if missing:
        pytest.skip(f"SLURM packages not installed ({', '.join(missing)} missing)")
    if os.geteuid() != 0:
        pytest.skip("the SLURM and munge daemons are started as root")
    if not Path("/etc/munge/munge.key").exists():
        pytest.skip("no /etc/munge/munge.key (the munge package makes one)")
    base = tmp_path / "slurm"
    for sub in ("state", "spool", "bin"):
        (base / sub).mkdir(parents=True)
    host = socket.gethostname().split(".")[0]
    conf = base / "slurm.conf"
    conf.write_text(_slurm_conf(base, host))
    key = base / "munge.key"
    shutil.copy("/etc/munge/munge.key", key)
    key.chmod(0o600)
    # The job step's nested srun drops SLURM_* variables, SLURM_CONF included: a wrapper keeps our config.
    srun = base / "bin" / "srun"
    srun.write_text(f"#!/bin/sh\nSLURM_CONF={conf} exec {shutil.which('srun')} \"$@\"\n")
    srun.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": f"{base / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    procs = []
    try:
        subprocess.run(["munged", "--force", f"--key-file={key}", f"--socket={base}/munge.socket",
                        f"--pid-file={base}/munged.pid", f"--log-file={base}/munged.log",
                        f"--seed-file={base}/munge.seed"], check=True, env=env, timeout=30)
        procs.append(subprocess.Popen(["slurmctld", "-D", "-c"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(1)
        procs.append(subprocess.Popen(["slurmd", "-D", "-c"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while "idle" not in subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                           text=True).stdout:
            if time.monotonic() > deadline:
                pytest.fail(f"the test cluster did not come up:\n{(base / 'slurmctld.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield host, env
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        pid_file = base / "munged.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def test_a_shard_runs_through_sbatch_pinned_to_its_board(slurm_cluster, tmp_path, tiny_model):
    host, env = slurm_cluster
    assert host == host_id(), "the node name must be the host name the workflow uses"
    work = make_workdir(tmp_path, tiny_model.parent, categories=["writing"], levels=["L0"],
                        **{"inference.max_tokens": 8, "jetson.hosts": [host]})
    shutil.copytree(Path(__file__).resolve().parents[1] / "profiles", work / "profiles")
    (work / "results/demo/models").mkdir(parents=True)
    (work / "results/demo/models/gemma3-270m.json").write_text(json.dumps(verify_model(tiny_model), default=str))
    target = "results/demo/shards/gemma3-270m/L0/writing.jsonl"
    # a flag first: the helper's --configfile takes every value up to the next option
    proc = snakemake(work, "--slurm-no-account", target, "--profile", "profiles/slurm", "--slurm-status-command",
                     "squeue", "--slurm-init-seconds-before-status-checks", "1", "--resources", "jetson=1", env=env)
    log = proc.stdout + proc.stderr
    records = [json.loads(line) for line in (work / target).read_text().splitlines()]
    assert records and all(r["status"] == "ok" and r["completion_tokens"] > 0 for r in records)
    assert (work / f"results/demo/power/idle_{host}.json").exists()
    jobs = {}
    for line in log.splitlines():
        if "has been submitted with SLURM jobid" in line:
            rule = line.split("slurm_logs/rule_")[1].split("/")[0]
            jobs[rule] = line.split("SLURM jobid ")[1].split()[0]
    assert {"power_idle", "infer_shard", "generate_prompts", "split_prompts"} <= set(jobs), log[-3000:]

    def job_field(jobid, name):
        shown = subprocess.run(["scontrol", "show", "job", jobid], env=env, capture_output=True, text=True).stdout
        return next(w.split("=", 1)[1] for w in shown.split() if w.startswith(name + "="))

    for rule in ("power_idle", "infer_shard"):
        assert job_field(jobs[rule], "Partition") == "jetson"
        assert job_field(jobs[rule], "ReqNodeList") == host
        assert job_field(jobs[rule], "OverSubscribe") == "NO"  # --exclusive: the board measures one job
    assert job_field(jobs["split_prompts"], "ReqNodeList") == "(null)"  # anywhere
