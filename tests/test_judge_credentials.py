"""Credentials never written (issue 16, item 7): a password in judge.base_url is refused before Snakemake
writes params, logs or .snakemake/ metadata; a key pasted as api_key_env is refused without being echoed."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_helpers import make_workdir, snakemake
from slmbench.config import check_config, load_config
from slmbench.errors import UserError

REPO = Path(__file__).resolve().parents[1]
DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())


def judged(**judge) -> dict:
    config = copy.deepcopy(DEMO)
    config["judge"].update(judge)
    return config


@pytest.mark.parametrize("where", ["judge", "judges"])
def test_a_password_in_base_url_is_refused_without_echo(where):
    url = "http://user:SECRETPW@127.0.0.1:8080/v1"
    config = judged(backend="openai", base_url=url) if where == "judge" else judged(
        judges=[{"model": "other", "base_url": url}])
    with pytest.raises(UserError) as err:
        check_config(config)
    message = str(err.value)
    assert "SECRETPW" not in message and "user:" not in message.split("(")[0] and "\n" not in message
    assert ("judge.base_url" if where == "judge" else "judge.judges[0].base_url") in message
    assert "environment variable" in message


@pytest.mark.parametrize("value", ["sk-proj-Abc123def456ghi789", "my pasted key 0123456789abcdef",
                                   "abcd1234efgh5678ijkl9012mnop"])
def test_a_key_pasted_as_api_key_env_is_refused_without_echo(value):
    with pytest.raises(UserError) as err:
        check_config(judged(api_key_env=value))
    assert value not in str(err.value) and "judge.api_key_env" in str(err.value)


def test_ordinary_variable_names_pass():
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY_FOR_PROJECT_X", "together_key"):
        check_config(judged(api_key_env=name))


def test_the_cli_refuses_a_password_in_base_url_without_echo(tmp_path):
    runs, questions = tmp_path / "runs.jsonl", tmp_path / "q.jsonl"
    runs.write_text(json.dumps({"question_id": 1, "category": "math", "model_id": "m", "level": "L0", "status": "ok",
                                "output": "x"}) + "\n")
    questions.write_text(json.dumps({"question_id": 1, "category": "math", "turns": ["q"]}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "judge", "--questions", str(questions), "--runs",
                           str(runs), "--out", str(tmp_path / "s.csv"), "--config", str(REPO / "config/demo.yaml"),
                           "--backend", "openai", "--base-url", "http://u:SECRETPW@127.0.0.1:9/v1",
                           "--cache", str(tmp_path / "c.sqlite")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode != 0 and "SECRETPW" not in proc.stderr + proc.stdout, proc.stderr
    assert "base_url holds a user name or password" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_a_workflow_with_a_password_in_base_url_writes_it_nowhere(tmp_path):
    work = make_workdir(tmp_path, tmp_path / "models")
    config = yaml.safe_load((work / "config" / "test.yaml").read_text())
    config["judge"].update(backend="openai", base_url="http://user:SECRETPW@127.0.0.1:8080/v1", model_path=None)
    secret = tmp_path / "secret.yaml"  # outside the working directory: the user's file is not what is checked
    secret.write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(work, "-n", configfile=str(secret), check=False)
    assert proc.returncode != 0
    assert "judge.base_url" in proc.stderr and "SECRETPW" not in proc.stdout + proc.stderr
    found = subprocess.run(["grep", "-r", "-l", "SECRETPW", str(work)], capture_output=True, text=True)
    assert found.stdout == "" and found.returncode == 1  # nothing in the work dir, .snakemake/ included
    with pytest.raises(UserError, match="judge.base_url: holds a user name or password"):
        load_config([str(secret)])
