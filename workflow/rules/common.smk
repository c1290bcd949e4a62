# Config validation and the small helpers every rule file uses. Nothing here touches the board.
import os
import re
import shlex
import socket
import sys
import zlib
from pathlib import Path

from snakemake.utils import validate

# The package's source, for this process and (PYTHONPATH) for every job: the inference step may run under
# another interpreter (JetPack 6: system Python 3.10 with the CUDA build of llama-cpp-python) without slmbench.
SRC_DIR = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC_DIR)
from slmbench.config import config_problem
from slmbench.errors import UserError
from slmbench.judge.panel import panel

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
try:
    JUDGES = panel(config["judge"])
except UserError as exc:
    print(f"config error: {exc}", file=sys.stderr)
    sys.exit(1)
# the GGUF of every in-process judge: an input of each judge job
JUDGE_GGUFS = sorted({j["model_path"] for j in JUDGES if j["backend"] == "llamacpp" and j["model_path"]})
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
            f"{R}/judge_agreement.csv",
            f"{R}/exported_responses/all_responses.csv",
            f"{R}/validation.txt",
            TOKEN_REPORT,  # prompts.smk
        ]
        + REPORT_OUTPUTS  # report.smk: plots, summary.md, the other exports
    )


# --- boards (several Jetsons share the shards through SLURM: jetson.hosts) ---
# This machine, or the SLURM nodes named in jetson.hosts (several boards sharing the shards).
BOARDS = config["jetson"]["hosts"] or [HOST]


def shard_board(w):
    """The board that runs a shard. A hash of the shard's name, not its position: running a subset of the
    categories, or adding one, never moves a finished shard (and its idle baseline) to another board."""
    return BOARDS[zlib.crc32(f"{w.model}/{w.level}/{w.category}".encode()) % len(BOARDS)]


def shard_idle(w):
    """The idle baseline of the shard's own board; ancient(): a re-measured baseline does not redo shards."""
    return ancient(f"{R}/power/idle_{shard_board(w)}.json")


def board_pin(host):
    """SLURM: run on that node and alone there (its power rail must measure one job); nothing on one board."""
    return f"--nodelist={host} --exclusive" if config["jetson"]["hosts"] else ""


def doctor_gate(host):
    """Input of a board's pinned jobs (idle baseline, shards). ancient(): rerunning the doctor (its report
    deleted) re-checks the board but does not redo measurements."""
    return ancient(f"{R}/doctor_{host}.txt") if config["power"]["backend"] == "tegrastats" else []


def judge_inputs(w):
    inputs = {"runs": shard_path(w.model, w.level, w.category), "prompts": prompts_csv(w.category)}
    if config["questions"]["references_file"]:
        inputs["references"] = config["questions"]["references_file"]
    if JUDGE_GGUFS:  # ancient: a re-download does not redo the verdicts
        inputs["judge_models"] = [ancient(path) for path in JUDGE_GGUFS]
    return inputs


def quarantine_broken_shards():
    """A shard cut by a power loss is moved aside (to *.corrupt) before the DAG is built, and the files made
    from it are removed: Snakemake does not rebuild a missing intermediate while its products still exist."""
    from slmbench.records import jsonl_is_complete

    for model in MODELS:
        for level in LEVELS:
            for category in CATEGORIES:
                shard = Path(shard_path(model, level, category))
                if not shard.exists() or jsonl_is_complete(shard):
                    continue
                shard.replace(shard.with_name(f"{shard.name}.corrupt"))
                for derived in (score_path(model, level, category), f"{R}/runs_llamacpp.jsonl", f"{R}/scores_absolute.csv"):
                    Path(derived).unlink(missing_ok=True)
                print(f"slmbench: {shard} was incomplete (power loss?); moved to {shard.name}.corrupt, redoing it",
                      file=sys.stderr)


# A shard cut by a power loss must be redone, not merged: checked before the DAG is built.
quarantine_broken_shards()
