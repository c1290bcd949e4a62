# Config validation (once) and the small helpers every rule file uses; every path comes from slmbench.layout.
# Nothing here touches the board or changes a file: the repairs before a run are slmbench.preflight's.
import os
import re
import shlex
import sys
from pathlib import Path

# The package's source: first on this process's path and on every job's (PYTHONPATH; `envvars` passes it to SLURM
# jobs), also under another interpreter that lacks slmbench (JetPack 6's system Python 3.10 for inference).
SRC_DIR = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC_DIR)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_DIR, os.environ.get("PYTHONPATH", "")) if p)


from slmbench.locks import RUN_TOKEN_ENV, new_run_token

# The run's token (slmbench.locks): every job, local or on SLURM, inherits it and so writes into the study its
# run holds; set before envvars is read, and kept by the jobs' own parse.
os.environ.setdefault(RUN_TOKEN_ENV, new_run_token())


envvars:
    "PYTHONPATH",
    RUN_TOKEN_ENV,


from slmbench.boards import quiet_threads, shard_board as board_of, slurm_pin, study_boards
from slmbench.config import settle_workflow_config
from slmbench.errors import UserError
from slmbench.judge.panel import panel
from slmbench.layout import WORKBOOKS, StudyLayout, shard_keys
from slmbench.mode_order import idle_ranks
from slmbench.run_order import repeated_shards
from slmbench.power_modes import study_modes
from slmbench.preflight import study_shards, workflow_preflight

try:  # exactly the files given (else config/config.yaml), none filling another's gaps; the schema; the inputs
    CONFIGFILES = settle_workflow_config(config, workflow.overwrite_configfiles, workflow.configfiles, sys.argv)
    JUDGES = panel(config["judge"])
    # jetson.power_modes with two or more modes: a study factor (shards and idle baselines per mode); else []
    MODES = study_modes(config["jetson"])
except UserError as exc:
    print(exc if str(exc).startswith(("config error", "slmbench:")) else f"config error: {exc}", file=sys.stderr)
    sys.exit(1)

L = StudyLayout.from_config(config)
LEVELS, CATEGORIES = config["levels"], config["categories"]
MODELS = {m["id"]: m for m in config["models"]}
# the GGUF of every in-process judge: an input of each judge job
JUDGE_GGUFS = sorted({j["model_path"] for j in JUDGES if j["backend"] == "llamacpp" and j["model_path"]})
BOARDS = study_boards(config)  # this machine, or the SLURM nodes of jetson.hosts; one idle baseline each
INFERENCE_PYTHON = config["inference"]["python"] or sys.executable
# Commands run the package through the interpreter running Snakemake, so an unactivated venv works too.
SLMBENCH = f"{shlex.quote(sys.executable)} -m slmbench.cli"
SAFE = "[A-Za-z0-9._-]+"
# The priority of a job whose output shards need (a category's prompt CSV, a model, a board's check): above every
# shard's (the designed order), so no category or model waits behind the shards of another and enters the order
# late. Snakemake runs the ready job of highest priority first, and a shard leaves no core for anything beside it.
PREPARE = 10**7
# jetson.power_modes: how a job switches the board (shell words; slmbench.power_modes)
SETTLE_S = shlex.quote(str(config["jetson"]["settle_s"]))
CLOCKS = shlex.quote(config["jetson"]["clocks"] or "")
BOARD_THREADS, SHARD_THREADS = quiet_threads(config)  # quiet windows: board-pinned jobs take every core


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)) if MODELS else SAFE,
    level="|".join(map(re.escape, LEVELS)),
    category="|".join(map(re.escape, CATEGORIES)),
    host=SAFE,
    mode="|".join(map(re.escape, MODES)) if MODES else SAFE,


def model_path(model_id):
    return L.model_file(MODELS[model_id]["file"])


def all_shards():
    return [L.shard(*key) for key in shard_keys(list(MODELS), LEVELS, CATEGORIES, MODES)]


def repeated_keys():
    """The shards run a second time (inference.shard_repeats, seeded per model: slmbench.run_order)."""
    keys = shard_keys(list(MODELS), LEVELS, CATEGORIES, MODES)
    return repeated_shards(keys, config["inference"]["shard_repeats"], config["inference"]["order_seed"])


def all_repeat_shards():
    return [L.shard_repeat(*key) for key in repeated_keys()]


def shard_key(w):
    """(model, level, category), with the mode in a study of several power modes: the shard's place in ORDER."""
    return (w.model, w.level, w.category) + ((w.mode,) if MODES else ())


def all_scores():
    return [L.scores(m, l, c) for m in MODELS for l in LEVELS for c in CATEGORIES]


def absent(paths):
    """A merge's inputs missing now (dry run only: a real run's preflight removes a missing shard's products)."""
    return lambda w: [p for p in paths() if not os.path.exists(p)] if workflow.output_settings.dryrun else []


def final_outputs():
    merged = [L.runs, L.scores_merged, L.judge_agreement, L.validation, L.token_report, L.prompt_review]
    return [L.workbook(name) for name in WORKBOOKS] + merged + REPORT_OUTPUTS  # report.smk: plots, viewer


def shard_board(w):
    return board_of(BOARDS, w.model, w.level, w.category)  # a hash of the shard's name: slmbench.boards


def shard_idle(w):
    """The idle baseline of the shard's own board (in its power mode); ancient(): a re-measured baseline does not
    redo shards."""
    return ancient(L.idle(shard_board(w), w.mode if MODES else None))


def shard_calibration(w):
    """The lag of the shard's board's power sensor; ancient(): a re-calibrated sensor redoes no shard."""
    return ancient(L.calibration(shard_board(w)))


def doctor_gate(host):
    """Input of a board's pinned jobs; ancient(): a rerun doctor re-checks the board but redoes no measurement."""
    return ancient(L.doctor_report(host)) if config["power"]["backend"] == "tegrastats" else []


def judge_inputs(w):
    # every power mode's runs of the shard in one job: an answer the same in several modes is asked once
    runs = [L.shard(w.model, w.level, w.category, mode) for mode in MODES] or L.shard(w.model, w.level, w.category)
    inputs = {"runs": runs, "prompts": L.prompts_csv(w.category)}
    if config["questions"]["references_file"]:
        inputs["references"] = config["questions"]["references_file"]
    if JUDGE_GGUFS:  # ancient: a re-download does not redo the verdicts
        inputs["judge_models"] = [ancient(path) for path in JUDGE_GGUFS]
    return inputs


# Before the DAG is built (main process only): one run at a time, a killed run's lock, cut shards.
workflow_preflight(workflow, study_shards(L, MODELS, LEVELS, CATEGORIES, MODES), L.results_dir, CONFIGFILES)
