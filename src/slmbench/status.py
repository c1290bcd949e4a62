"""`slmbench status`: where a study stands, from a second terminal while it runs.

Read-only by design: it reads the shard and score files, the shards' logs and `benchmark:` timings and the
judge cache's spending ledger (sqlite opened read-only), and only asks the study's lock who holds it (never
takes or clears a lock), so it is safe beside a running study. It prints shards done / total, judged / total,
error runs, runs without energy, the judge's cost so far and estimated, an ETA from the measured shard times
of each model (or the study's estimate before any shard is measured), and what to do next.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .layout import WORKBOOKS, StudyLayout, shard_keys
from .live import INFERENCE_MARK
from .locks import Holder, study_lock_holder
from .records import read_jsonl

# Before any shard is measured: the reference study's 3-5 hours for 1600 answers is ~9 s per answer.
ESTIMATED_S_PER_ANSWER = 9.0
ESTIMATED_LOAD_S = 10.0  # model load and warm-up, per shard
QUESTIONS_PER_CATEGORY = 10  # MT-Bench: 10 questions per category (used when the prompt CSVs are not written yet)
# An upper estimate of a verdict's prompt besides the answer: rubric, canonical question and reference
JUDGE_PROMPT_TOKENS = 900


@dataclass
class ShardState:
    model: str
    level: str
    category: str
    path: str
    done: bool = False
    runs: int = 0
    errors: int = 0
    no_energy: int = 0
    judged: bool = False
    seconds: Optional[float] = None  # measured wall time of the shard's job (its benchmark TSV)
    problem: Optional[str] = None  # an unreadable shard
    answers_so_far: Optional[int] = None  # running: inference lines in its log
    mode: Optional[str] = None  # its power mode, in a study of several (jetson.power_modes)

    @property
    def name(self) -> str:
        return f"{self.model}/{self.level}/{self.category}" + (f"/{self.mode}" if self.mode is not None else "")


@dataclass
class Cost:
    spent_usd: float = 0.0
    paid_verdicts: int = 0
    stored_verdicts: int = 0
    estimate_usd: Optional[float] = None  # the whole study
    note: str = ""


@dataclass
class StudyStatus:
    configfiles: List[str]
    layout: StudyLayout
    shards: List[ShardState]
    answers_per_shard: Dict[str, int]  # category -> prompts per shard
    verdicts_per_run: int
    cost: Cost
    eta_s: float = 0.0
    eta_basis: List[str] = field(default_factory=list)
    lock_held: bool = False
    holder: Optional[Holder] = None  # who holds the study's lock (slmbench.locks)
    validation: Optional[str] = None  # the RESULT line of validation.txt

    @property
    def done(self) -> List[ShardState]:
        return [s for s in self.shards if s.done]

    @property
    def running(self) -> List[ShardState]:
        return [s for s in self.shards if s.answers_so_far is not None]

    @property
    def total_answers(self) -> int:
        return sum(self.answers_per_shard[s.category] for s in self.shards)


def _count_prompts(layout: StudyLayout, category: str, level: str, variants: int = 1) -> int:
    """A shard's answers: its rows of the prompt CSV (every question and variant), or before the CSV is written
    the design's 10 questions x prompts.variants."""
    try:
        with open(layout.prompts_csv(category), encoding="utf-8-sig", newline="") as fh:
            n = sum(1 for row in csv.DictReader(fh) if row.get("level") == level)
    except (OSError, csv.Error):
        n = 0
    return n or QUESTIONS_PER_CATEGORY * variants


def _benchmark_seconds(path: str) -> Optional[float]:
    """The `s` column of a Snakemake benchmark TSV (the job's wall time)."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            row = next(csv.DictReader(fh, delimiter="\t"), None)
        return float(row["s"]) if row else None
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _read_shard(state: ShardState) -> None:
    try:
        records = list(read_jsonl(state.path))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        state.problem = str(exc)
        return
    state.runs = len(records)
    state.errors = sum(r.get("status") != "ok" for r in records)
    state.no_energy = sum(r.get("status") == "ok" and r.get("energy_j") is None for r in records)
    if state.seconds is None:  # no benchmark TSV (a shard made by hand): its answers' time plus a load
        latency = sum(float(r.get("latency_ms") or 0) for r in records) / 1000
        state.seconds = latency + ESTIMATED_LOAD_S if latency else None


def _run_started(holder) -> float:
    """When the holding run started (epoch seconds): a shard log written since then is this run's."""
    try:
        return datetime.fromisoformat(holder.started_at).timestamp()
    except (TypeError, ValueError):
        return 0.0


def _progress(log: str, since: float) -> Optional[int]:
    """Answers a running shard has finished: its inference lines, if its log was written during this run."""
    try:
        if os.stat(log).st_mtime < since:
            return None
        with open(log, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        return None
    if any(line.startswith("slmbench: error:") for line in lines):
        return None  # that shard failed in this run: it is not running
    return sum(INFERENCE_MARK in line or "  ERROR: " in line for line in lines)


def _judges(config: dict) -> List[dict]:
    try:
        from .judge.panel import panel

        return panel(config["judge"])
    except Exception:  # status must still answer when the judge section is being edited
        return [config["judge"]]


def read_ledger(cache_path: str) -> Tuple[float, int, int]:
    """(USD spent, verdicts paid for, verdicts stored) from a judge cache, opened read-only: a running judge
    job keeps writing it (WAL), and status must never block or change it."""
    if not Path(cache_path).exists():
        return 0.0, 0, 0
    uri = f"{Path(cache_path).resolve().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=5)
    try:
        spent, paid = db.execute("SELECT COALESCE(SUM(usd), 0), COUNT(usd) FROM spend").fetchone()
        stored = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    finally:
        db.close()
    return float(spent), int(paid), int(stored)


def _cost(config: dict, verdicts_total: int) -> Cost:
    cost = Cost()
    judges = _judges(config)
    caches = sorted({j.get("cache") for j in judges if j.get("cache")})
    for path in caches:
        try:
            spent, paid, stored = read_ledger(path)
        except sqlite3.Error as exc:
            cost.note = f"judge cache {path} not readable now ({exc}); try again"
            return cost
        cost.spent_usd += spent
        cost.paid_verdicts += paid
        cost.stored_verdicts += stored
    priced = [j for j in judges if j.get("price_per_mtok") and j.get("backend") != "llamacpp"]
    if not priced:
        cost.note = "no cost: local judge or no price table (judge.price_per_mtok)"
        return cost
    remaining = max(0, verdicts_total - cost.stored_verdicts)
    if cost.paid_verdicts:  # measured: the mean cost of a verdict so far
        per_verdict = cost.spent_usd / cost.paid_verdicts
        basis = "from the verdicts so far"
    else:  # upper estimate: the whole answer (max_tokens) in the prompt and judge.max_tokens out
        answer = int(config["inference"]["max_tokens"])
        per_verdict = sum((JUDGE_PROMPT_TOKENS + answer) / 1e6 * float(j["price_per_mtok"]["input"])
                          + int(j.get("max_tokens") or 512) / 1e6 * float(j["price_per_mtok"]["output"])
                          for j in priced) / len(judges)
        basis = "upper estimate, nothing judged yet"
    cost.estimate_usd = cost.spent_usd + per_verdict * remaining
    cost.note = basis
    return cost


def _eta(shards: List[ShardState], answers: Dict[str, int]) -> Tuple[float, List[str]]:
    """Seconds of inference left: each model's remaining shards at that model's mean measured shard time;
    a model with none measured takes the other models' mean, else the study's estimate per answer. A running
    shard counts for the share of its answers not yet written."""
    def share_left(s: ShardState) -> float:
        return 1.0 - min(1.0, (s.answers_so_far or 0) / answers[s.category])

    measured = [s.seconds for s in shards if s.done and s.seconds]
    overall = sum(measured) / len(measured) if measured else None
    eta, basis, estimated = 0.0, [], []
    for model in dict.fromkeys(s.model for s in shards):
        mine = [s for s in shards if s.model == model]
        left = [s for s in mine if not s.done]
        if not left:
            continue
        times = [s.seconds for s in mine if s.done and s.seconds]
        if times:
            per = sum(times) / len(times)
            basis.append(f"{model} {per:.0f} s/shard measured over {len(times)}")
            eta += per * sum(map(share_left, left))
        elif overall is not None:
            basis.append(f"{model} {overall:.0f} s/shard, the other models' mean")
            eta += overall * sum(map(share_left, left))
        else:
            eta += sum((answers[s.category] * ESTIMATED_S_PER_ANSWER + ESTIMATED_LOAD_S) * share_left(s) for s in left)
            estimated.append(model)
    if estimated:
        who = "" if len(estimated) == len(set(s.model for s in shards)) else f"{', '.join(estimated)} "
        basis.append(f"{who}estimated at {ESTIMATED_S_PER_ANSWER:.0f} s/answer, none measured yet")
    return eta, basis


def _validation(layout: StudyLayout) -> Optional[str]:
    try:
        lines = Path(layout.validation).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((line.strip() for line in reversed(lines) if line.startswith("RESULT:")), None)


def collect_status(config: dict, configfiles: List[str]) -> StudyStatus:
    layout = StudyLayout.from_config(config)
    models = [m["id"] for m in config["models"]]
    levels, categories = list(config["levels"]), list(config["categories"])
    variants = int((config.get("prompts") or {}).get("variants") or 1)
    answers = {c: _count_prompts(layout, c, levels[0], variants) for c in categories}
    holder = study_lock_holder(layout.results_dir)  # the study's own lock, whatever the working directory
    lock = holder is not None
    run_started = _run_started(holder) if lock else time.time() + 1
    from .power_modes import study_modes

    shards = []
    for key in shard_keys(models, levels, categories, study_modes(config["jetson"])):
        state = ShardState(*key[:3], layout.shard(*key), mode=key[3] if len(key) > 3 else None)
        state.done = Path(state.path).is_file()
        state.judged = Path(layout.scores(*key[:3])).is_file()  # one scores file holds every mode's verdicts
        if state.done:
            state.seconds = _benchmark_seconds(layout.benchmark(f"inference/{state.name}"))
            _read_shard(state)
        elif lock:
            state.answers_so_far = _progress(layout.log(f"inference/{state.name}"), run_started)
        shards.append(state)
    repeats = int(config["judge"].get("repeats") or 1)
    verdicts_per_run = repeats * len(_judges(config))
    total_answers = sum(answers[s.category] for s in shards)
    status = StudyStatus(configfiles, layout, shards, answers, verdicts_per_run,
                         _cost(config, total_answers * verdicts_per_run), lock_held=lock, holder=holder,
                         validation=_validation(layout))
    status.eta_s, status.eta_basis = _eta(shards, answers)
    return status


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _names(shards: List[ShardState], limit: int = 4) -> str:
    names = [s.name for s in shards]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def format_status(status: StudyStatus) -> str:
    lay, shards, done = status.layout, status.shards, status.done
    runs = sum(s.runs for s in done)
    errors = [s for s in done if s.errors]
    no_energy = [s for s in done if s.no_energy]
    broken = [s for s in done if s.problem]
    judged = [s for s in shards if s.judged]
    out = [f"slmbench status: config {' + '.join(status.configfiles)}; results in {lay.results_dir}/"]
    line = f"inference shards: {len(done)}/{len(shards)} done"
    if status.running:
        line += "; running: " + ", ".join(
            f"{s.name} ({s.answers_so_far}/{status.answers_per_shard[s.category]} answers)" for s in status.running)
    if status.lock_held:  # the study's lock names its holder: from any working directory, clone or host
        holder = status.holder
        line += (f"; held by {holder.describe() if holder else 'another run'}"
                 + (" (on another machine: cannot be checked from here)" if holder and holder.unverifiable else ""))
    out.append(line)
    out.append(f"runs: {runs}/{status.total_answers} recorded, {sum(s.errors for s in done)} errors"
               + (f" (in {_names(errors)})" if errors else "")
               + f", {sum(s.no_energy for s in done)} without energy")
    out += [f"unreadable shard {s.path}: {s.problem}" for s in broken]
    out.append(f"judged: {len(judged)}/{len(shards)} shards")
    cost = status.cost
    if cost.estimate_usd is not None:
        out.append(f"judge cost: ${cost.spent_usd:.2f} spent ({cost.paid_verdicts} verdicts paid); "
                   f"${cost.estimate_usd:.2f} estimated for the whole study ({cost.note})")
    else:
        out.append(f"judge cost: ${cost.spent_usd:.2f} spent; {cost.note}")
    left = len(shards) - len(done)
    if not done:
        out.append(f"plan: {status.total_answers} answers in {len(shards)} shards, about "
                   f"{_duration(status.eta_s)} of inference ({'; '.join(status.eta_basis)})")
    elif left:
        out.append(f"ETA: about {_duration(status.eta_s)} of inference for {left} shards "
                   f"({'; '.join(status.eta_basis)}), plus judging and reports")
    if status.validation:
        out.append(f"validation: {status.validation} ({lay.validation})")
    out.append("next: " + _next_step(status, left, errors, no_energy, broken))
    return "\n".join(out)


def _next_step(status: StudyStatus, left: int, errors, no_energy, broken) -> str:
    lay = status.layout
    if status.lock_held and left:
        return "the run is going; check again with `slmbench status` (add the same --profile/--configfile)"
    if broken:
        return "run the same command again: an unreadable shard is moved to *.corrupt and redone"
    if left == len(status.shards):
        return ("check the board (`slmbench doctor`), then start the study: `scripts/run_full_benchmark.sh full all` "
                "(with your --profile)")
    if left:
        return ("continue with the same command as before (e.g. `scripts/run_full_benchmark.sh full all`); only the "
                "missing shards run")
    steps = []
    if errors:
        steps.append(f"{sum(s.errors for s in errors)} runs failed: see their `error` in the shards, fix the cause "
                     f"(README, When something goes wrong), then `slmbench redo --errors` and run the same command")
    if no_energy and any(s.no_energy < s.runs for s in no_energy):  # some measured, some not: a sensor dropout
        steps.append("`slmbench redo --no-energy` re-measures the runs without energy")
    if not Path(lay.workbook(WORKBOOKS[1])).exists():
        steps.append("run the same command again to judge and write the reports")
    else:
        steps.append(f"open {lay.workbook(WORKBOOKS[1])} and {lay.index_html}")
    return "; ".join(steps)


def start_lines(config: dict, configfiles: List[str]) -> str:
    """What the start of a run prints (the workflow's onstart): the plan or what is left, its time and judge cost."""
    wanted = ("inference shards:", "plan:", "ETA:", "judge cost:")
    status = collect_status(config, configfiles)
    status.lock_held = False  # the lock is this run's own: nothing to say about it
    text = format_status(status)
    return "\n".join(line for line in text.splitlines() if line.startswith(wanted))


def run_end_line(layout: StudyLayout) -> str:
    """The one line the end of every run prints (the workflow's onsuccess): the validation result and the file
    to open; a FAIL is said on the console, not only in validation.txt."""
    result = _validation(layout)
    if result is None:
        return f"slmbench: no validation yet ({layout.validation}); `slmbench status` says what is left"
    verdict = result.replace("RESULT: ", "", 1)
    page = layout.index_html if Path(layout.index_html).exists() else layout.workbook(WORKBOOKS[1])
    return f"slmbench: validation {verdict} (see {layout.validation}); open {page}"


def _cmd_status(args) -> int:
    from .profile import load_study_config

    config, files = load_study_config(args.configfile, args.profile, args.config_items)
    print(format_status(collect_status(config, files)))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "status", help="where the study stands: shards, judging, errors, cost and ETA (read-only, safe during a run)")
    from .profile import add_study_config_arguments

    add_study_config_arguments(parser)
    parser.set_defaults(func=_cmd_status)
