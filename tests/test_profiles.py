"""profiles/jetson and profiles/slurm, planned by the real Snakemake (dry runs: no board, no cluster needed)."""

from __future__ import annotations

import re
import shutil

import openpyxl
import pytest
import yaml

from pipeline_helpers import REPO, planned_jobs, snakemake

pytest.importorskip("snakemake_executor_plugin_slurm")
pytestmark = pytest.mark.slow  # every test plans the workflow with the real Snakemake

BOARDS = ["orin1", "orin2", "orin3"]
CATEGORIES = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]


def study_workdir(tmp_path, hosts=None):
    """The study config (with jetson.hosts), the profiles, and a made-up 80-question prompt spreadsheet."""
    work = tmp_path / "study"
    (work / "config").mkdir(parents=True)
    shutil.copy(REPO / "config/demo.yaml", work / "config/demo.yaml")
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["jetson"]["hosts"] = hosts
    (work / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copytree(REPO / "profiles", work / "profiles")
    book = openpyxl.Workbook()
    book.active.append(["question_id", "category", "L0", "L1", "L2", "L3", "P"])
    for i in range(80):
        book.active.append([81 + i, CATEGORIES[i // 10], *[f"made-up prompt {i}"] * 5])
    (work / "data").mkdir()
    book.save(work / "data/generated_prompts.xlsx")
    return work


def job_blocks(dry_run: str) -> list[tuple[str, str]]:
    """(rule, text of its block) for every planned job of `snakemake -n`."""
    return re.findall(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", dry_run, re.M)


def field(block: str, name: str) -> str:
    match = re.search(rf"^    {name}: (.*)$", block, re.M)
    return match.group(1) if match else ""


@pytest.fixture(scope="module")
def slurm_plan(tmp_path_factory):
    work = study_workdir(tmp_path_factory.mktemp("slurm"), hosts=BOARDS)
    proc = snakemake(work, "-n", "--profile", "profiles/slurm", configfile="", env={"HF_HUB_OFFLINE": "1"})
    return work, proc.stdout


def test_slurm_profile_sends_board_jobs_to_the_jetson_partition_and_the_rest_anywhere(slurm_plan):
    _, dry = slurm_plan
    jobs = planned_jobs(dry)
    assert jobs["infer_shard"] == 160 and jobs["judge_shard"] == 160
    blocks = job_blocks(dry)
    for rule, block in blocks:
        resources = field(block, "resources")
        if rule in ("infer_shard", "repeat_shard", "power_idle", "power_calibrate", "doctor"):
            assert "slurm_partition=jetson" in resources and "jetson=1" in resources, (rule, resources)
            assert re.search(r"slurm_extra=--nodelist=orin\d --exclusive", resources), resources
        else:
            assert "slurm_partition" not in resources and "nodelist" not in resources, (rule, resources)


def test_slurm_profile_measures_one_idle_baseline_per_board_on_that_board(slurm_plan):
    _, dry = slurm_plan
    blocks = job_blocks(dry)
    idle = {field(b, "wildcards"): field(b, "resources") for r, b in blocks if r == "power_idle"}
    assert sorted(idle) == [f"host={b}" for b in BOARDS]
    for wildcards, resources in idle.items():
        assert f"--nodelist={wildcards.split('=')[1]} " in resources
    shards_per_board = {b: 0 for b in BOARDS}
    for rule, block in blocks:
        if rule == "infer_shard":
            board = re.search(r"--nodelist=(\w+)", field(block, "resources")).group(1)
            assert f"results/power/idle_{board}.json" in field(block, "input")
            assert f"results/doctor_{board}.txt" in field(block, "input")
            shards_per_board[board] += 1
    assert all(20 <= n <= 80 for n in shards_per_board.values()), shards_per_board  # every board works


def test_a_subset_of_categories_keeps_each_shard_on_its_board(slurm_plan, tmp_path):
    work, dry = slurm_plan

    def boards(text):
        return {field(b, "output"): re.search(r"--nodelist=(\w+)", field(b, "resources")).group(1)
                for r, b in job_blocks(text) if r == "infer_shard"}

    subset = snakemake(work, "-n", "--profile", "profiles/slurm", "--config", "categories=[math]", configfile="",
                       env={"HF_HUB_OFFLINE": "1"}).stdout
    assert boards(subset) and all(boards(dry)[out] == host for out, host in boards(subset).items())


def test_slurm_profile_without_hosts_still_sets_the_partition(tmp_path):
    work = study_workdir(tmp_path)
    dry = snakemake(work, "-n", "--profile", "profiles/slurm", configfile="", env={"HF_HUB_OFFLINE": "1"}).stdout
    shards = [b for r, b in job_blocks(dry) if r == "infer_shard"]
    assert len(shards) == 160
    assert all("slurm_partition=jetson" in field(b, "resources") for b in shards)


def test_jetson_profile_runs_the_study_with_the_system_python(tmp_path):
    work = study_workdir(tmp_path)
    proc = snakemake(work, "-n", "-p", "--profile", "profiles/jetson", configfile="", env={"HF_HUB_OFFLINE": "1"})
    jobs = planned_jobs(proc.stdout)
    assert jobs["infer_shard"] == 160 and jobs["doctor"] == 1
    assert jobs["repeat_shard"] == 4  # inference.shard_repeats: one shard per model measured again
    commands = [line for line in proc.stdout.splitlines() if "-m slmbench.inference" in line]
    assert len(commands) == 164 and all(line.lstrip().startswith("Shell command: /usr/bin/python3 -m") or
                                        line.lstrip().startswith("/usr/bin/python3 -m") for line in commands)
    assert re.search(r"--chat-template-kwargs='\{\"enable_thinking\": false\}'", proc.stdout)
    # the workflow profile still applies on top: one board-pinned job at a time
    assert all("jetson=1" in field(b, "resources") for r, b in job_blocks(proc.stdout) if r == "infer_shard")
