"""Run the real Snakemake workflow in a temporary working directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def make_workdir(tmp: Path, models_dir: Path, **changes) -> Path:
    """A working directory with the repo's config/ and a reduced demo config at config/test.yaml.

    `changes` are dotted keys (e.g. `inference.max_tokens=16`) applied to config/demo.yaml.
    The models directory is shared so the 253 MB tiny model is assembled once per session.
    """
    work = tmp / "work"
    shutil.copytree(REPO / "config", work / "config")
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    config["models_dir"] = str(models_dir)
    config["judge"]["model_path"] = str(models_dir / config["models"][0]["file"])
    (work / "config" / "test.yaml").write_text(yaml.safe_dump(apply_changes(config, changes), sort_keys=False))
    return work


def apply_changes(config: dict, changes: dict) -> dict:
    """`config` with dotted keys replaced (`{"inference.max_tokens": 16}`), in place; returns it."""
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return config


def inference_settings(**changes) -> dict:
    """What the infer_shard rule passes as --settings for config/demo.yaml: the inference section (less python)
    and the power section, every key (inference.py declares no defaults); `changes` replace keys, and a
    `power` change is merged into the demo's power section."""
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    settings = {k: v for k, v in config["inference"].items() if k != "python"}
    power = {**config["power"], **changes.pop("power", {})}
    return {**settings, **changes, "power": power}


def snakemake_call(work: Path, *args: str, configfile: str = "config/test.yaml",
                   env: dict | None = None) -> tuple[list, dict]:
    """(command, environment) of a Snakemake run in `work`, as the tests start it."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work)]
    if configfile:
        cmd += ["--configfile", configfile]
    if "--quiet" not in args:  # the tests read the job banners the default profile silences (quiet: [rules])
        cmd += ["--quiet", "host"]
    run_env = {**os.environ, **(env or {})}
    # the venv's bin first, so `python -m slmbench...` commands find the same interpreter's packages
    run_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), run_env.get("PATH", "")])
    return cmd + list(args), run_env


def snakemake(work: Path, *args: str, configfile: str = "config/test.yaml", env: dict | None = None,
              check: bool = True) -> subprocess.CompletedProcess:
    cmd, run_env = snakemake_call(work, *args, configfile=configfile, env=env)
    proc = subprocess.run(cmd, cwd=work, env=run_env, capture_output=True, text=True, timeout=1500)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of `snakemake -n`: rule -> count."""
    counts: dict[str, int] = {}
    in_table = False
    for line in dry_run_output.splitlines():
        if line.startswith("job") and "count" in line:
            in_table = True
            continue
        if in_table:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] != "total":
                    counts[parts[0]] = int(parts[1])
            elif parts and not set(line.strip()) <= {"-", " "}:
                in_table = False
    return counts


def job_intervals(work: Path) -> list[tuple[str, float, float]]:
    """(rule, start, end) of every finished job of the last run in `work`, in seconds since the epoch, from
    Snakemake's metadata (one record per output file: its job's start and end; a job is its rule and job hash)."""
    jobs: dict = {}
    for path in (work / ".snakemake" / "metadata").iterdir():
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("incomplete") or not (meta.get("starttime") and meta.get("endtime")):
            continue
        key = (meta["rule"], meta["job_hash"])
        began, ended = jobs.get(key, (meta["starttime"], meta["endtime"]))
        jobs[key] = (min(began, meta["starttime"]), max(ended, meta["endtime"]))
    return [(rule, began, ended) for (rule, _), (began, ended) in jobs.items()]


def start_snakemake(work: Path, *args: str, configfile: str = "config/test.yaml",
                    env: dict | None = None) -> subprocess.Popen:
    """Snakemake in its own process group, so a test can kill -9 the whole tree like a power cut would."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", configfile, *args]
    env = {**os.environ, **(env or {})}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def kill_tree(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def wait_for(predicate, timeout: float = 600, poll: float = 0.1) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


def study_config_with(**sections) -> dict:
    """config/config.yaml (every key is required) with the given sections' keys replaced, e.g. judge={...};
    a judge section starts with no extra judges and no re-judged share, so a test counts its own requests."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["judge"].update(judges=[], repeat_fraction=0.0)
    for name, values in sections.items():
        config[name].update(values)
    return config
