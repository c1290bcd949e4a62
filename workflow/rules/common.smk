# Config validation (once) and the small helpers every rule file uses; every path comes from slmbench.layout.
# Nothing here touches the board or changes a file: the repairs before a run are slmbench.preflight's.
import os
import re
import shlex
import sys
from pathlib import Path

# The package's source: first on this process's path, and on every job's through PYTHONPATH. A job may run
# under another interpreter that lacks slmbench (JetPack 6's system Python 3.10 for inference); the variable
# serves shell and script jobs alike, and `envvars` has Snakemake pass it on to remote (SLURM) jobs.
SRC_DIR = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC_DIR)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_DIR, os.environ.get("PYTHONPATH", "")) if p)


envvars:
    "PYTHONPATH",


from slmbench.boards import shard_board as board_of, slurm_pin, study_boards
from slmbench.config import check_config
from slmbench.errors import UserError
from slmbench.judge.panel import panel
from slmbench.layout import WORKBOOKS, StudyLayout
from slmbench.preflight import preflight, study_shards

try:
    check_config(config, remember_in=".snakemake/slmbench")  # one line naming the key, before any job is planned
    JUDGES = panel(config["judge"])
except UserError as exc:
    print(exc if str(exc).startswith("config error") else f"config error: {exc}", file=sys.stderr)
    sys.exit(1)

L = StudyLayout.from_config(config)
LEVELS = config["levels"]
CATEGORIES = config["categories"]
MODELS = {m["id"]: m for m in config["models"]}
# the GGUF of every in-process judge: an input of each judge job
JUDGE_GGUFS = sorted({j["model_path"] for j in JUDGES if j["backend"] == "llamacpp" and j["model_path"]})
BOARDS = study_boards(config)  # this machine, or the SLURM nodes of jetson.hosts; one idle baseline each
INFERENCE_PYTHON = config["inference"]["python"] or sys.executable
# Commands run the package through the interpreter running Snakemake, so an unactivated venv works too.
SLMBENCH = f"{shlex.quote(sys.executable)} -m slmbench.cli"
SAFE = "[A-Za-z0-9._-]+"


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)) if MODELS else SAFE,
    level="|".join(map(re.escape, LEVELS)),
    category="|".join(map(re.escape, CATEGORIES)),
    host=SAFE,


def model_path(model_id):
    return L.model_file(MODELS[model_id]["file"])


def all_shards():
    return [L.shard(m, l, c) for m in MODELS for l in LEVELS for c in CATEGORIES]


def all_scores():
    return [L.scores(m, l, c) for m in MODELS for l in LEVELS for c in CATEGORIES]


def final_outputs():
    merged = [L.runs, L.scores_merged, L.judge_agreement, L.export_csv, L.validation, L.token_report]
    return [L.workbook(name) for name in WORKBOOKS] + merged + REPORT_OUTPUTS  # report.smk: plots, summary


def shard_board(w):
    return board_of(BOARDS, w.model, w.level, w.category)  # a hash of the shard's name: slmbench.boards


def shard_idle(w):
    """The idle baseline of the shard's own board; ancient(): a re-measured baseline does not redo shards."""
    return ancient(L.idle(shard_board(w)))


def doctor_gate(host):
    """Input of a board's pinned jobs; ancient(): a rerun doctor re-checks the board but redoes no measurement."""
    return ancient(L.doctor_report(host)) if config["power"]["backend"] == "tegrastats" else []


def judge_inputs(w):
    inputs = {"runs": L.shard(w.model, w.level, w.category), "prompts": L.prompts_csv(w.category)}
    if config["questions"]["references_file"]:
        inputs["references"] = config["questions"]["references_file"]
    if JUDGE_GGUFS:  # ancient: a re-download does not redo the verdicts
        inputs["judge_models"] = [ancient(path) for path in JUDGE_GGUFS]
    return inputs


# Before the DAG is built, in the main process only (cluster jobs parse this file again): one run at a time, a
# killed run's lock, shards cut by a power loss and their products. --unlock: the user vouches no run is alive.
if workflow.is_main_process:
    dry_run = workflow.dryrun or getattr(workflow.output_settings, "dryrun", False)
    try:
        preflight(study_shards(L, MODELS, LEVELS, CATEGORIES), dry_run=bool(dry_run), unlocking="--unlock" in sys.argv)
    except UserError as exc:
        sys.exit(f"slmbench: error: {exc}")
