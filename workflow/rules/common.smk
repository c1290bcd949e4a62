# Config validation and the small helpers every rule file uses. Nothing here touches the board.
import os
import re
import shlex
import socket
import sys
from pathlib import Path

from snakemake.utils import validate

# The package's source, for this process and (PYTHONPATH) for every job: the inference step may run under
# another interpreter (JetPack 6: system Python 3.10 with the CUDA build of llama-cpp-python) without slmbench.
SRC_DIR = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC_DIR)
from slmbench.config import config_problem

CONFIG_SCHEMA = str(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
_problem = config_problem(config, CONFIG_SCHEMA)
if _problem:
    # One line naming the key, no traceback, before any job is planned.
    print(_problem, file=sys.stderr)
    sys.exit(1)
validate(config, schema="../schemas/config.schema.yaml")  # also fills schema defaults (none today)

if workflow.is_main_process and not workflow.dryrun:
    from slmbench.locks import clear_stale_lock

    _unlocked = clear_stale_lock()
    if _unlocked:
        print(_unlocked, file=sys.stderr)

os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (SRC_DIR, os.environ.get("PYTHONPATH", "")) if p
)

R = config["results_dir"].rstrip("/")
LEVELS = config["levels"]
CATEGORIES = config["categories"]
MODELS = {m["id"]: m for m in config["models"]}
if len(MODELS) != len(config["models"]):
    print("config error: models: two models share an id; give each a unique id", file=sys.stderr)
    sys.exit(1)
# One idle baseline per board: a shared filesystem with several boards keeps one file per host.
HOST = "".join(c if c.isalnum() or c in "._-" else "_" for c in socket.gethostname()) or "host"
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
    return f"{config['models_dir']}/{MODELS[model_id]['file']}"


def prompts_csv(category):
    return f"{config['prompts']['csv_dir']}/{category}_prompts_hierarchical.csv"


def shard_path(model, level, category):
    return f"{R}/shards/{model}/{level}/{category}.jsonl"


def score_path(model, level, category):
    return f"{R}/scores/{model}/{level}/{category}.csv"


def all_shards():
    return [shard_path(m, l, c) for m in MODELS for l in LEVELS for c in CATEGORIES]


def all_scores():
    return [score_path(m, l, c) for m in MODELS for l in LEVELS for c in CATEGORIES]


def idle_path():
    return f"{R}/power/idle_{HOST}.json"


WORKBOOKS = [
    "quality_scores_detailed",
    "model_comparison",
    "energy_per_run",
    "latency_per_run",
    "output_tokens_per_run",
    "prompt_tokens_per_run",
]


def final_outputs():
    return (
        [f"{R}/{name}.xlsx" for name in WORKBOOKS]
        + [
            f"{R}/runs_llamacpp.jsonl",
            f"{R}/scores_absolute.csv",
            f"{R}/exported_responses/all_responses.csv",
            f"{R}/validation.txt",
            TOKEN_REPORT,  # prompts.smk
        ]
        + REPORT_OUTPUTS  # report.smk: plots, summary.md, the other exports
    )
