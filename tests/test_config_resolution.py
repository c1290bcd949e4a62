"""One config resolution (issue 27): `slmbench status|redo|doctor` read exactly the files and the config that
Snakemake's own dry run uses, for the README's combinations of --profile and --configfile. The dry run says its
files ("slmbench: dry run of ..."), and the hash of the config it validated is in
.snakemake/slmbench/config_valid.sha256; the CLI side is computed in a separate process from the same options."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_helpers import REPO, snakemake
from test_profiles import study_workdir

pytestmark = pytest.mark.slow  # every case is a real `snakemake -n` of the study

CLI_SIDE = """
import json, sys
from slmbench.config import SCHEMA, _config_digest
from slmbench.profile import load_study_config
args = json.loads(sys.argv[1])
config, files = load_study_config(args.get("configfile"), args.get("profile"))
print(json.dumps({"files": files, "digest": _config_digest(config, SCHEMA), "results_dir": config["results_dir"]}))
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = study_workdir(tmp_path_factory.mktemp("resolution"))
    for path in (REPO / "config").iterdir():  # the demo's question file and the rest, beside the study's config
        if not (work / "config" / path.name).exists() and path.is_file():
            shutil.copy(path, work / "config" / path.name)
    (work / "config" / "override.yaml").write_text(yaml.safe_dump({"results_dir": "results/override",
                                                                    "report": {"seed": 7}}))
    return work


def snakemake_side(work: Path, args: list[str]) -> dict:
    marker = work / ".snakemake" / "slmbench" / "config_valid.sha256"
    marker.unlink(missing_ok=True)
    proc = snakemake(work, "-n", "--cores", "1", "--quiet", *args, configfile="", env={"HF_HUB_OFFLINE": "1"})
    said = [line for line in proc.stderr.splitlines() if line.startswith("slmbench: dry run of ")]
    assert len(said) == 1, proc.stderr[-3000:]
    files, results = said[0].removeprefix("slmbench: dry run of ").rsplit(" (results in ", 1)
    return {"files": [str((work / f).resolve()) for f in files.split(" + ")], "digest": marker.read_text(),
            "results_dir": results.rstrip("/)")}


def cli_side(work: Path, options: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", CLI_SIDE, json.dumps(options)], cwd=work, env=env,
                          capture_output=True, text=True, check=True)
    found = json.loads(proc.stdout)
    found["files"] = [str((work / f).resolve()) for f in found["files"]]
    return found


CASES = {  # name: (snakemake's command-line options, the same options for the CLI, the files expected)
    "--profile profiles/jetson": (["--profile", "profiles/jetson"], {"profile": "profiles/jetson"},
                                  ["config/config.yaml", "profiles/jetson/jetpack6.yaml"]),
    "--profile profiles/jetson --configfile F": (
        ["--profile", "profiles/jetson", "--configfile", "config/demo.yaml"],
        {"profile": "profiles/jetson", "configfile": ["config/demo.yaml"]}, ["config/demo.yaml"]),
    "--configfile A B": (["--configfile", "config/demo.yaml", "config/override.yaml"],
                         {"configfile": ["config/demo.yaml", "config/override.yaml"]},
                         ["config/demo.yaml", "config/override.yaml"]),
    "none": ([], {}, ["config/config.yaml"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_cli_resolves_the_config_snakemake_runs(work, case):
    args, options, expected = CASES[case]
    ours, theirs = cli_side(work, options), snakemake_side(work, args)
    assert ours["files"] == theirs["files"] == [str((work / f).resolve()) for f in expected]
    assert ours["digest"] == theirs["digest"]  # the same config, key for key
    assert ours["results_dir"] == theirs["results_dir"]


def test_a_profile_s_configfile_given_as_one_name_is_read_from_the_profile_s_folder(work):
    """A scalar `configfile:` is found in the profile's directory (Snakemake adjusts such paths); a list is read
    from the working directory as written: both as Snakemake does it, not as a guess."""
    profile = work / "profiles" / "single"
    profile.mkdir(exist_ok=True)
    (profile / "study.yaml").write_text((work / "config" / "demo.yaml").read_text())
    (profile / "config.yaml").write_text("configfile: study.yaml\n")
    ours = cli_side(work, {"profile": "profiles/single"})
    theirs = snakemake_side(work, ["--profile", "profiles/single"])
    assert ours["files"] == theirs["files"] == [str(profile / "study.yaml")]
    assert ours["digest"] == theirs["digest"]
