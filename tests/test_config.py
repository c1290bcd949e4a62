"""slmbench.config.load_config: the config as Snakemake merges it, validated once, bad input as one line
naming the file and the key; the CLIs that take a config file read it through load_config."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline_helpers import REPO
from slmbench.config import load_config
from slmbench.errors import UserError

DEMO = str(REPO / "config/demo.yaml")


def read(path) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def test_files_are_deep_merged_in_order(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("judge: {max_tokens: 99, judges: [{model: x}]}\nlevels: [L0, L1]\n")
    second.write_text("judge: {judges: []}\nreport: {seed: 7}\n")
    config = load_config([DEMO, str(first), str(second)])
    demo = read(DEMO)
    assert config["judge"]["max_tokens"] == 99 and config["judge"]["judges"] == []  # lists are replaced
    assert config["judge"]["backend"] == demo["judge"]["backend"]  # the rest of the section is the first file's
    assert config["levels"] == ["L0", "L1"] and config["report"]["seed"] == 7
    assert config["report"]["alpha"] == demo["report"]["alpha"]


def test_the_study_config_is_read_alone():
    config = load_config([str(REPO / "config/config.yaml")])
    assert config == read(REPO / "config/config.yaml")


def test_no_file_means_the_study(monkeypatch):
    monkeypatch.chdir(REPO)
    assert load_config(None) == read(REPO / "config/config.yaml")


def test_a_study_config_missing_a_key_is_named_not_filled_from_the_demo(tmp_path):
    study = read(REPO / "config/config.yaml")
    del study["inference"]["max_tokens"]
    partial = tmp_path / "study.yaml"
    partial.write_text(yaml.safe_dump(study))
    with pytest.raises(UserError) as err:
        load_config([str(partial)], default=DEMO)  # the default is used only when no file is given
    assert "study.yaml: config error: inference.max_tokens: is missing" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text, expected", [
    ("report: {bootstrap: 5}\n", "bad.yaml: config error: report: unknown key"),
    ("judge: {max_tokens: many}\n", "bad.yaml: config error: judge.max_tokens: 'many' is not of type"),
    ("models: [{id: a}]\n", "bad.yaml: config error: models[0].file: is missing"),
    ("prompts: {generator: {backend: openai}}\n", "bad.yaml: config error: prompts.generator.model: is missing"),
    ("prompts: {generator: {base_url: 'http://me:pw@example.org/v1'}}\n",
     "bad.yaml: config error: prompts.generator.base_url: holds a user name or password"),
    ("levels: [L0\n", "bad.yaml: not valid YAML"),
    ("- a list\n", "bad.yaml: a config file holds a mapping of keys"),
])
def test_a_bad_config_is_one_line_naming_the_file_and_key(tmp_path, text, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(UserError) as err:
        load_config([DEMO, str(bad)])
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_two_models_with_one_id_are_named(tmp_path):
    model = read(DEMO)["models"][0]
    twice = tmp_path / "twice.yaml"
    twice.write_text(yaml.safe_dump({"models": [model, copy.deepcopy(model)]}))  # one object dumped twice: an alias
    with pytest.raises(UserError, match="twice.yaml: config error: models: two models share an id"):
        load_config([DEMO, str(twice)])


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(UserError, match="cannot read config .*nope.yaml"):
        load_config([str(tmp_path / "nope.yaml")])


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=120, check=False)


@pytest.mark.parametrize("command", [
    ["judge", "--questions", "q.jsonl", "--runs", "r.jsonl", "--out", "s.csv"],
    ["report", "--runs", "r.jsonl", "--scores", "s.csv", "--outdir", "out"],
    ["report", "validate", "--runs", "r.jsonl", "--scores", "s.csv", "--out", "v.txt"],
    ["doctor", "--configfile"],
])
def test_every_cli_that_takes_a_config_validates_it_the_same_way(tmp_path, command):
    bad = tmp_path / "bad.yaml"
    config = read(DEMO)
    config["judge"]["temprature"] = 0  # a whole config with one typo: no file fills another's gaps
    bad.write_text(yaml.safe_dump(config))
    flag = [] if command[-1] == "--configfile" else ["--config"]
    proc = cli(*command, *flag, bad)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert f"{bad}: config error: judge: unknown key" in lines[0] and "'temprature'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_the_judge_cli_without_a_config_takes_the_study_judge(tmp_path, monkeypatch):
    from argparse import Namespace

    from slmbench.judge.cli import settings_from

    args = Namespace(config=None, max_cost=None, base_url=None, concurrency=None, repeats=None, sleep=None,
                     backend=None, model_path=None, chat_format=None, cache=str(tmp_path / "c.sqlite"),
                     rate_limit=None, price=None, model=None)
    study = read(REPO / "config/config.yaml")["judge"]
    monkeypatch.chdir(REPO)  # config/config.yaml, the study, as `snakemake` in the repo
    settings = settings_from(args)
    assert settings["model"] == study["model"] and settings["cache"] == str(tmp_path / "c.sqlite")
    assert "demo_note" not in settings and json.dumps(settings)


