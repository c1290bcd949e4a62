"""`slmbench status`: where a study stands, from a second terminal while it runs.

Read-only by design: it reads the prompt rows (or the spreadsheet, or the question file), the shard and score
files, the jobs' logs and `benchmark:` timings and the judge cache's spending ledger (sqlite opened read-only),
and only asks the study's lock who holds it (never takes or clears a lock), so it is safe beside a running
study. It prints shards done / total, the scored runs (timing and shard repeats counted apart), judged / total,
error runs, runs without energy, the judge's cost so far and estimated, the time left for inference and for
judging (slmbench.eta, the one model behind every time the project prints), and what to do next.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

from . import eta
from .layout import WORKBOOKS, StudyLayout, shard_keys
from .live import INFERENCE_MARK
from .locks import Holder, study_lock_holder
from .records import read_jsonl


@dataclass
class ShardState:
    model: str
    level: str
    category: str
    path: str
    done: bool = False
    runs: int = 0  # scored runs: repeat 0 of the shard's own measurement
    timing_repeats: int = 0  # records with repeat > 0 (measured again, never judged)
    shard_repeats: int = 0  # records with shard_repeat 1 (the shard measured again, never judged)
    errors: int = 0
    no_energy: int = 0
    judged: bool = False
    seconds: Optional[float] = None  # measured wall time of the shard's job (its benchmark TSV)
    judge_seconds: Optional[float] = None  # measured wall time of its judge job
    judge_ended: Optional[float] = None  # the score file's mtime
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
    answers_per_shard: Dict[Tuple[str, str], int]  # (category, level) -> scored answers of its shards
    answers_source: str  # where those counts come from
    verdicts_per_run: float
    cost: Cost
    estimate: Optional[eta.Estimate] = None
    run_holds_lock: bool = False  # a live run of this study (slmbench.locks)
    holder: Optional[Holder] = None  # who holds the study's lock
    validation: Optional[str] = None  # the RESULT line of validation.txt, when newer than the runs
    design_lines: List[str] = field(default_factory=list)  # the study's plan (power, MDE): issue 25's stats

    @property
    def done(self) -> List[ShardState]:
        return [s for s in self.shards if s.done]

    @property
    def running(self) -> List[ShardState]:
        return [s for s in self.shards if s.answers_so_far is not None]

    def answers(self, shard: ShardState) -> int:
        return self.answers_per_shard.get((shard.category, shard.level), 0)

    @property
    def total_answers(self) -> int:
        return sum(self.answers(s) for s in self.shards)

    @property
    def eta_s(self) -> float:
        return self.estimate.total_s if self.estimate else 0.0


def _rows_per_shard(rows, levels, categories) -> Dict[Tuple[str, str], int]:
    counts = {(c, lvl): 0 for c in categories for lvl in levels}
    for category, level in rows:
        if (category, level) in counts:
            counts[(category, level)] += 1
    return counts


def answer_counts(config: Mapping, layout: StudyLayout) -> Tuple[Dict[Tuple[str, str], int], str]:
    """Scored answers per (category, level), from what the study will really run: the prompt CSVs once written,
    else the spreadsheet (prompts.source: spreadsheet), else the question file x prompts.variants (generate);
    and where the counts come from. A source not there yet counts nothing (`once ...` says when it will):
    nothing is guessed."""
    from .prompt_rows import read_prompt_rows

    levels, categories = list(config["levels"]), list(config["categories"])
    variants = int(config["prompts"].get("variants") or 1)
    none = _rows_per_shard([], levels, categories)
    csvs = {c: layout.prompts_csv(c) for c in categories}
    if all(Path(p).is_file() for p in csvs.values()):
        try:
            rows = [(r.category, r.level) for c in categories for r in read_prompt_rows(csvs[c])]
            return _rows_per_shard(rows, levels, categories), "the prompt CSVs"
        except Exception:  # a CSV being written or broken: the stage that reads it says what is wrong
            pass
    prompts, questions = config["prompts"], config["questions"]
    present = questions["file"] if Path(questions["file"]).is_file() else None
    if prompts["source"] == "spreadsheet":
        sheet = prompts["spreadsheet"]
        if not Path(sheet).is_file():
            return none, f"once the spreadsheet {sheet} is there"
        try:
            from .prompts.convert import read_prompts

            found = read_prompts(sheet, sheet=prompts.get("sheet"), mapping=prompts.get("columns"),
                                 questions_file=present, levels=levels, categories=categories, variants=variants)
        except Exception as exc:  # the prompts stage stops on it with the same one line
            return none, f"once the spreadsheet reads ({str(exc).splitlines()[0]})"
        return _rows_per_shard([(p.category, p.level) for p in found], levels, categories), sheet
    if present is None:
        return none, f"once {questions['file']} is there" + (" (the run downloads it first)" if questions.get("url")
                                                              else "")
    from .questions import read_questions

    per_category: Dict[str, int] = {}
    for item in read_questions(present).values():
        per_category[item.get("category")] = per_category.get(item.get("category"), 0) + 1
    counts = {(c, lvl): per_category.get(c, 0) * variants for c in categories for lvl in levels}
    return counts, present + (f" x {variants} wordings" if variants > 1 else "")


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
    scored = [r for r in records if not (r.get("repeat") or 0) and not (r.get("shard_repeat") or 0)]
    state.runs = len(scored)
    state.shard_repeats = sum(bool(r.get("shard_repeat")) for r in records)
    state.timing_repeats = sum(bool(r.get("repeat")) and not r.get("shard_repeat") for r in records)
    state.errors = sum(r.get("status") != "ok" for r in scored)
    state.no_energy = sum(r.get("status") == "ok" and r.get("energy_j") is None for r in scored)
    if state.seconds is None:  # no benchmark TSV (a shard made by hand): its generations' time plus a start
        latency = sum(float(r.get("latency_ms") or 0) for r in records) / 1000
        state.seconds = latency + eta.SHARD_FIXED_S if latency else None


def study_run_owner(layout: StudyLayout) -> Optional[Holder]:
    """Who holds THIS study's lock (`<results_dir>/.slmbench/`, slmbench.locks), whatever the working directory,
    or None: the one place status asks the lock."""
    return study_lock_holder(layout.results_dir)


def _run_started(holder: Optional[Holder]) -> float:
    """When the holding run started (epoch seconds): a shard log written since then is this run's."""
    try:
        return datetime.fromisoformat(holder.started_at).timestamp()
    except (AttributeError, TypeError, ValueError):
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
        per_verdict = sum((eta.JUDGE_PROMPT_TOKENS + answer) / 1e6 * float(j["price_per_mtok"]["input"])
                          + int(j.get("max_tokens") or 512) / 1e6 * float(j["price_per_mtok"]["output"])
                          for j in priced) / len(judges)
        basis = "upper estimate, nothing judged yet"
    cost.estimate_usd = cost.spent_usd + per_verdict * remaining
    cost.note = basis
    return cost


def _validation(layout: StudyLayout) -> Optional[str]:
    try:
        lines = Path(layout.validation).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((line.strip() for line in reversed(lines) if line.startswith("RESULT:")), None)


def stale(path: str, sources: List[str]) -> bool:
    """True when `path` is missing or older than one of the files it is made from."""
    try:
        made = os.stat(path).st_mtime
    except OSError:
        return True
    return any(os.stat(s).st_mtime > made for s in sources if os.path.exists(s))


def fresh_validation(layout: StudyLayout) -> Optional[str]:
    """validation.txt's RESULT line, only when it is at least as new as the runs and scores it checks: a
    validation of older files is never shown as the result."""
    if stale(layout.validation, [layout.runs, layout.scores_merged]):
        return None
    return _validation(layout)


def design_lines(config: Mapping) -> List[str]:
    """The study's design before it runs: power and minimum detectable effect (issue 25, `slmbench plan`), one
    cheap line (200 simulated studies, default noise)."""
    from .report.plan import status_line

    return [status_line(config)]


def _package_gb(source: Mapping) -> Optional[float]:
    """A model assembled from a PyPI package (the demo's) before it is assembled: the size of its parts."""
    try:
        from importlib import import_module

        parts = import_module(source["package"]).chunk_paths()
        return sum(os.path.getsize(p) for p in parts) / 1e9
    except Exception:  # another package's layout, or not installed: the study's typical size stands in
        return None


def _model_gb(config: Mapping, layout: StudyLayout) -> Dict[str, float]:
    """GB per model file: on disk, else (a PyPI-built model) its package's parts, else a typical size."""
    sizes = {}
    for model in config["models"]:
        source = model.get("source") or {}
        sizes[model["id"]] = (eta.file_gb(layout.model_file(model["file"]))
                              or (_package_gb(source) if source.get("kind") == "pypi" else None)
                              or eta.UNKNOWN_MODEL_GB)
    return sizes


def _priors(config: Mapping, layout: StudyLayout, shards: List[ShardState], answers: Mapping,
            verdicts_per_run: float) -> Tuple[Dict[str, float], float, eta.Board]:
    board = eta.this_board(config)
    sizes = _model_gb(config, layout)
    per_shard = [answers.get((s.category, s.level), 0) for s in shards] or [0]
    mean_answers = sum(per_shard) / len(per_shard)
    prior_shard = {m: eta.prior_shard_s(config, round(mean_answers), gb, board) for m, gb in sizes.items()}
    judges = _judges(config)
    by_file = {layout.model_file(m["file"]): sizes[m["id"]] for m in config["models"]}
    local = [j.get("model_path") for j in judges if j.get("backend") == "llamacpp"]
    judge_gb = next((eta.file_gb(p) or by_file.get(p) for p in local), None)
    prior_judge = eta.prior_judge_shard_s(config, judges, mean_answers * verdicts_per_run, board, judge_gb)
    return prior_shard, prior_judge, board


def collect_status(config: dict, configfiles: List[str]) -> StudyStatus:
    layout = StudyLayout.from_config(config)
    models = [m["id"] for m in config["models"]]
    levels, categories = list(config["levels"]), list(config["categories"])
    answers, source = answer_counts(config, layout)
    owner = study_run_owner(layout)
    run_started = _run_started(owner) if owner is not None else time.time() + 1
    from .power_modes import study_modes

    modes = study_modes(config["jetson"])
    shards = []
    for key in shard_keys(models, levels, categories, modes):
        state = ShardState(*key[:3], layout.shard(*key), mode=key[3] if len(key) > 3 else None)
        state.done = Path(state.path).is_file()
        scores = layout.scores(*key[:3])  # one scores file (one judge job) holds every mode's verdicts
        state.judged = Path(scores).is_file()
        if state.judged and key[3:] == tuple(modes[:1]):  # a judge job counted once, with its first mode's shard
            state.judge_seconds = _benchmark_seconds(layout.benchmark(f"judge/{'/'.join(key[:3])}"))
            state.judge_ended = os.stat(scores).st_mtime
        if state.done:
            state.seconds = _benchmark_seconds(layout.benchmark(f"inference/{state.name}"))
            _read_shard(state)
        elif owner is not None:
            state.answers_so_far = _progress(layout.log(f"inference/{state.name}"), run_started)
        shards.append(state)
    judge = config["judge"]
    verdicts_per_run = ((int(judge.get("repeats") or 1) + float(judge.get("repeat_fraction") or 0))
                        * len(_judges(config)))
    total_answers = sum(answers.get((s.category, s.level), 0) for s in shards)
    status = StudyStatus(configfiles, layout, shards, answers, source, verdicts_per_run,
                         _cost(config, round(total_answers * verdicts_per_run)), run_holds_lock=owner is not None,
                         holder=owner,
                         validation=fresh_validation(layout),
                         design_lines=[] if any(s.done for s in shards) else design_lines(config))
    prior_shard, prior_judge, board = _priors(config, layout, shards, answers, verdicts_per_run)
    model_shards = [eta.Shard(s.model, status.answers(s), s.done, s.seconds,
                              min(1.0, (s.answers_so_far or 0) / max(1, status.answers(s))), s.judged,
                              s.judge_seconds, s.judge_ended) for s in shards]
    model_shards += _repeated_shards(config, layout, shards, status)
    status.estimate = eta.study_estimate(config, model_shards, prior_shard, prior_judge)
    if not any(s.done and s.seconds for s in shards):
        status.estimate.basis.append(f"board: {board.name}" + ("" if board.known else
                                                                f", {board.bandwidth_gb_s:g} GB/s assumed"))
    return status


def _repeated_shards(config: dict, layout: StudyLayout, shards: List[ShardState], status: StudyStatus) -> list:
    """The shards measured a second time (inference.shard_repeats), for the ETA only: they run after every other
    shard and are never judged (the shard counts of `status` stay the study's)."""
    from .run_order import repeated_shards

    by_key = {(s.model, s.level, s.category) + ((s.mode,) if s.mode is not None else ()): s for s in shards}
    chosen = repeated_shards(list(by_key), int(config["inference"].get("shard_repeats") or 0),
                             config["inference"]["order_seed"])
    out = []
    for key in chosen:
        state = by_key[key]
        done = Path(layout.shard_repeat(*key)).is_file()
        seconds = _benchmark_seconds(layout.benchmark(f"inference/{state.name}.repeat1")) if done else None
        out.append(eta.Shard(state.model, status.answers(state), done, seconds, never_judged=True))
    return out


def _names(shards: List[ShardState], limit: int = 4) -> str:
    names = [s.name for s in shards]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _runs_line(status: StudyStatus) -> str:
    done = status.done
    errors = [s for s in done if s.errors]
    line = f"runs: {sum(s.runs for s in done)}/{status.total_answers} recorded"
    repeats = sum(s.timing_repeats for s in done)
    shard_repeats = sum(s.shard_repeats for s in done)
    extra = [f"{n} {what}" for n, what in ((repeats, "timing repeats"), (shard_repeats, "shard-repeat runs")) if n]
    if extra:
        line += f" (besides them {' and '.join(extra)}, never judged)"
    return (line + f", {sum(s.errors for s in done)} errors" + (f" (in {_names(errors)})" if errors else "")
            + f", {sum(s.no_energy for s in done)} without energy")


def format_status(status: StudyStatus) -> str:
    lay, shards, done = status.layout, status.shards, status.done
    errors = [s for s in done if s.errors]
    no_energy = [s for s in done if s.no_energy]
    broken = [s for s in done if s.problem]
    judged = [s for s in shards if s.judged]
    out = [f"slmbench status: config {' + '.join(status.configfiles)}; results in {lay.results_dir}/"]
    line = f"inference shards: {len(done)}/{len(shards)} done"
    if status.running:
        line += "; running: " + ", ".join(f"{s.name} ({s.answers_so_far}/{status.answers(s)} answers)"
                                          for s in status.running)
    if status.run_holds_lock:  # the study's lock names its holder: from any working directory, clone or host
        holder = status.holder
        line += (f"; held by {holder.describe() if holder else 'another run'}"
                 + (" (on another machine: cannot be checked from here)" if holder and holder.unverifiable else ""))
    out.append(line)
    out.append(_runs_line(status))
    out += [f"unreadable shard {s.path}: {s.problem}" for s in broken]
    out.append(f"judged: {len(judged)}/{len(shards)} shards")
    cost = status.cost
    if cost.estimate_usd is not None and not status.total_answers:
        out.append(f"judge cost: ${cost.spent_usd:.2f} spent; estimated once the answers are counted")
    elif cost.estimate_usd is not None:
        out.append(f"judge cost: ${cost.spent_usd:.2f} spent ({cost.paid_verdicts} verdicts paid); "
                   f"${cost.estimate_usd:.2f} estimated for the whole study ({cost.note})")
    else:
        out.append(f"judge cost: ${cost.spent_usd:.2f} spent; {cost.note}")
    out += _time_lines(status)
    out += status.design_lines
    if status.validation:
        out.append(f"validation: {status.validation} ({lay.validation})")
    out.append("next: " + _next_step(status, errors, no_energy, broken))
    return "\n".join(out)


def _time_lines(status: StudyStatus) -> List[str]:
    est, shards, done = status.estimate, status.shards, status.done
    if est is None:
        return []
    left = len(shards) - len(done)
    unjudged = sum(not s.judged for s in shards)
    judging = f"judging about {eta.duration(est.judging_s)} ({est.judge_basis})"
    if not status.total_answers:
        return [f"plan: {len(shards)} shards; the answers are counted {status.answers_source}"]
    if not done:
        return [f"plan: {status.total_answers} answers ({status.answers_source}) in {len(shards)} shards, about "
                f"{eta.duration(est.total_s)}: inference about {eta.duration(est.inference_s)} "
                f"({'; '.join(est.basis)}), {judging}"]
    if left:
        return [f"ETA: about {eta.duration(est.total_s)}: inference about {eta.duration(est.inference_s)} for {left} "
                f"shards ({'; '.join(est.basis)}), {judging}; then the reports"]
    if unjudged:
        return [f"ETA: judging about {eta.duration(est.judging_s)} for {unjudged} shards ({est.judge_basis}); "
                f"then the reports"]
    return []


def _next_step(status: StudyStatus, errors, no_energy, broken) -> str:
    lay = status.layout
    left = sum(not s.done for s in status.shards)
    if status.run_holds_lock:
        stage = "inference" if left else ("judging" if any(not s.judged for s in status.shards) else "the reports")
        return (f"the run is going ({stage}); check again with `slmbench status` (add the same "
                f"--profile/--configfile)")
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
                     f"(docs/REFERENCE.md, When something goes wrong), then `slmbench redo --errors` and run the "
                     f"same command")
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
    status.run_holds_lock = False  # the lock is this run's own: nothing to say about it
    text = format_status(status)
    return "\n".join(line for line in text.splitlines() if line.startswith(wanted))


def run_end_line(layout: StudyLayout) -> str:
    """The one line the end of every run prints (the workflow's onsuccess): the validation result and the file
    to open, when they describe the runs and scores on disk; a FAIL is said on the console, not only in
    validation.txt. What this run did not rebuild (a target other than the whole study) is named, never shown
    as a result: a validation older than the runs, a viewer older than the reports."""
    made = [p for p in (layout.runs, layout.scores_merged) if os.path.exists(p)]
    if not made:
        return f"slmbench: no results yet (no {layout.runs}); `slmbench status` says what is left"
    behind = [p for p, sources in ((layout.validation, made), (layout.judge_agreement, [layout.scores_merged]),
                                   (layout.index_html, made + [layout.workbook(WORKBOOKS[1])]))
              if stale(p, sources)]
    result = fresh_validation(layout)
    page = layout.index_html if layout.index_html not in behind else layout.workbook(WORKBOOKS[1])
    if result is None:
        head = f"slmbench: validation not rebuilt by this run ({layout.validation} is missing or older than the runs)"
    else:
        head = f"slmbench: validation {result.replace('RESULT: ', '', 1)} (see {layout.validation})"
    tail = f"; open {page}" if os.path.exists(page) else ""
    if behind:
        tail += (f"; not rebuilt: {', '.join(os.path.basename(p) for p in behind)} (run without a target, or "
                 f"`slmbench status`, for them)")
    return head + tail


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
