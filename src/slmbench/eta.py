"""How long a study takes: the one model behind the run's plan, `slmbench status`, the console's progress lines
and the README's time per board.

Measured times come first: a model's inference shards at that model's mean measured shard time (a running
shard counts for the share of its answers still to come), a model not measured yet at the other models' mean,
and judging at the measured time of the judge jobs so far, divided by how many ran at once. Before anything is
measured, a prior from the board and the config:

- decoding reads the whole model file once per token, so a board decodes at most its memory bandwidth / the
  file's size tokens per second (`report.memory_bandwidth_gb_s`, matched in the board's name); llama.cpp gets
  ROOFLINE_SHARE of that bound. A machine not in the table (a laptop running the demo) is taken at
  UNKNOWN_BANDWIDTH_GB_S, which puts the demo's 253 MB model at the ~50 tokens/s it decodes on two CPU cores;
- an answer is min(max_tokens, ANSWER_TOKENS) tokens, plus its prompt read PREFILL_X_GPU (layers on the GPU)
  or PREFILL_X_CPU times faster;
- a shard adds a fixed cost (process start, imports, power sampler, model load, the warm-up generation), the
  idle re-measure (`power.idle_per_shard_s`, none without a sensor) and the cooldown (`inference.cooldown_s`);
- a verdict of a remote judge takes REMOTE_VERDICT_S, `judge.concurrency` at a time; a local (llama.cpp) judge
  reads its prompt and writes `judge.max_tokens` tokens at the same roofline as inference;
- judge jobs never run while a shard is measured (quiet windows), so judging follows inference, unless
  `judge.overlap` lets them run beside it: then only the last shard's verdicts are left after inference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

ANSWER_TOKENS = 400  # mean completion tokens of a study answer (the study models at max_tokens 1024)
PROMPT_TOKENS = 300  # mean prompt tokens over the levels (L0 ~60 .. P ~550)
ROOFLINE_SHARE = 0.65  # llama.cpp decodes at 60-70 % of the memory-bandwidth bound (docs/REFERENCE.md)
PREFILL_X_CPU = 8.0  # prompt tokens are read this many times faster than answer tokens are written: on CPU cores
PREFILL_X_GPU = 30.0  # ... and with the layers on a GPU (prefill is compute-bound, decoding bandwidth-bound)
UNKNOWN_BANDWIDTH_GB_S = 20.0  # a machine not in report.memory_bandwidth_gb_s: a laptop CPU's share of DRAM
SHARD_FIXED_S = 4.0  # start, imports, sampler, warm-up of a shard (benchmarks/protocol_overhead.py, less its idle)
LOAD_GB_S = 1.0  # model load: the file read from storage (NVMe or page cache)
UNKNOWN_MODEL_GB = 2.5  # a model file not downloaded yet (the study's Q6_K files: 1.6-3.3 GB)
REMOTE_VERDICT_S = 6.0  # one verdict of a GPT-4o-class endpoint (~900 prompt tokens, ~300 written)
JUDGE_PROMPT_TOKENS = 900  # rubric, canonical question and reference, besides the answer
JUDGE_JOB_S = 3.0  # a judge job's start: Python, the package, the cache


@dataclass(frozen=True)
class Board:
    """The machine a study runs on, as far as speed goes."""

    name: str  # the table key matched ("Jetson Orin Nano"), or what the machine says it is
    bandwidth_gb_s: float
    known: bool  # False: not in report.memory_bandwidth_gb_s, UNKNOWN_BANDWIDTH_GB_S assumed


def board_of(device: Optional[str], table: Mapping[str, float]) -> Board:
    """The longest key of `table` found in the device string (case-insensitive), like the report's roofline."""
    matches = [key for key in (table or {}) if device and key.lower() in device.lower()]
    if matches:
        key = max(matches, key=len)
        return Board(key, float(table[key]), True)
    return Board(device or "this machine", UNKNOWN_BANDWIDTH_GB_S, False)


def this_board(config: Mapping) -> Board:
    try:
        device = Path("/proc/device-tree/model").read_bytes().rstrip(b"\0").decode(errors="replace")
    except OSError:
        device = None
    return board_of(device, config["report"].get("memory_bandwidth_gb_s") or {})


def decode_tok_s(model_gb: float, board: Board) -> float:
    return board.bandwidth_gb_s * ROOFLINE_SHARE / max(model_gb, 0.05)


def prefill_x(config: Mapping) -> float:
    return PREFILL_X_GPU if config["inference"].get("n_gpu_layers") else PREFILL_X_CPU


def answer_s(config: Mapping, model_gb: float, board: Board, prompt_tokens: float = PROMPT_TOKENS) -> float:
    """Seconds of one answer: its prompt read, then min(max_tokens, ANSWER_TOKENS) tokens written."""
    tokens = min(int(config["inference"]["max_tokens"]), ANSWER_TOKENS)
    speed = decode_tok_s(model_gb, board)
    return tokens / speed + prompt_tokens / (speed * prefill_x(config))


def runs_per_answer(config: Mapping) -> float:
    """Generations per answer: 1 plus the seeded share measured again (inference.timing_repeats)."""
    return 1.0 + float(config["inference"].get("timing_repeats") or 0)


def prior_shard_s(config: Mapping, answers: int, model_gb: float, board: Board,
                  prompt_tokens: float = PROMPT_TOKENS) -> float:
    """A shard's seconds before any is measured: fixed costs, the model load, its answers and timing repeats."""
    idle = 0.0 if config["power"].get("backend") == "none" else float(config["power"].get("idle_per_shard_s") or 0)
    fixed = SHARD_FIXED_S + model_gb / LOAD_GB_S + idle + float(config["inference"].get("cooldown_s") or 0)
    return fixed + answers * runs_per_answer(config) * answer_s(config, model_gb, board, prompt_tokens)


def verdict_s(judge: Mapping, config: Mapping, board: Board, judge_gb: Optional[float]) -> float:
    """Seconds one verdict adds to a judge job: a remote judge's latency over its concurrency, or a local
    judge's prompt and reply at the roofline."""
    if judge.get("backend") == "llamacpp":
        speed = decode_tok_s(judge_gb or UNKNOWN_MODEL_GB, board)
        answer = min(int(config["inference"]["max_tokens"]), ANSWER_TOKENS)
        return (JUDGE_PROMPT_TOKENS + answer) / (speed * PREFILL_X_CPU) + int(judge.get("max_tokens") or 512) / speed
    return REMOTE_VERDICT_S / max(1, int(judge.get("concurrency") or 1))


def prior_judge_shard_s(config: Mapping, judges: Sequence[Mapping], verdicts: float, board: Board,
                        judge_gb: Optional[float]) -> float:
    """A judge job's seconds before any is measured: its start and its verdicts, every judge of the panel."""
    per_judge = verdicts / max(1, len(judges))
    return JUDGE_JOB_S + sum(per_judge * verdict_s(j, config, board, judge_gb) for j in judges)


def file_gb(path: Optional[str]) -> Optional[float]:
    try:
        return os.path.getsize(path) / 1e9 if path else None
    except OSError:
        return None


@dataclass
class Shard:
    """What the model needs of one (model, level, category): done or not, and the measured seconds."""

    model: str
    answers: int  # scored answers (every question and prompt variant)
    done: bool = False
    seconds: Optional[float] = None  # measured wall time of its inference job
    share_done: float = 0.0  # a running shard: answers written / answers
    judged: bool = False
    judge_seconds: Optional[float] = None  # measured wall time of its judge job
    judge_ended: Optional[float] = None  # when its judge job ended (the score file's mtime)
    never_judged: bool = False  # a shard measured a second time (inference.shard_repeats): inference only


@dataclass
class Estimate:
    inference_s: float
    judging_s: float
    total_s: float
    basis: List[str] = field(default_factory=list)  # where the inference numbers come from
    judge_basis: str = ""


def _parallel(shards: Iterable[Shard]) -> float:
    """How many judge jobs ran at once: their summed time over the span from the first start to the last end."""
    timed = [(s.judge_ended - s.judge_seconds, s.judge_ended) for s in shards
             if s.judge_seconds and s.judge_ended is not None]
    if len(timed) < 2:
        return 1.0
    span = max(end for _, end in timed) - min(start for start, _ in timed)
    return max(1.0, sum(end - start for start, end in timed) / span) if span > 0 else 1.0


def inference_left(shards: Sequence[Shard], prior: Mapping[str, float]) -> Tuple[float, List[str]]:
    """Seconds of inference left, and what they are based on; `prior`: model -> prior seconds per shard."""
    measured = [s.seconds for s in shards if s.done and s.seconds]
    overall = sum(measured) / len(measured) if measured else None
    eta, basis, estimated = 0.0, [], []
    for model in dict.fromkeys(s.model for s in shards):
        mine = [s for s in shards if s.model == model]
        left = sum(1.0 - min(1.0, s.share_done) for s in mine if not s.done)
        if not left:
            continue
        times = [s.seconds for s in mine if s.done and s.seconds]
        if times:
            per = sum(times) / len(times)
            basis.append(f"{model} {per:.0f} s/shard measured over {len(times)}")
        elif overall is not None:
            per = overall
            basis.append(f"{model} {per:.0f} s/shard, the other models' mean")
        else:
            per = prior[model]
            estimated.append(f"{model} {per:.0f} s/shard")
        eta += per * left
    if estimated:
        basis.append("estimated (none measured yet): " + ", ".join(estimated))
    return eta, basis


def judging_left(shards: Sequence[Shard], prior_judge_s: float) -> Tuple[float, str]:
    """Seconds of judging left: the shards not judged yet at the measured time per judge job (over how many
    ran at once), else the prior."""
    left = [s for s in shards if not s.judged and not s.never_judged]
    if not left:
        return 0.0, "every shard judged"
    timed = [s.judge_seconds for s in shards if s.judged and s.judge_seconds]
    if timed:
        per, parallel = sum(timed) / len(timed), _parallel(shards)
        how = f"{per:.0f} s per judge job measured over {len(timed)}" + (f", {parallel:.1f} at once"
                                                                          if parallel > 1.05 else "")
        return per * len(left) / parallel, how
    return prior_judge_s * len(left), f"estimated at {prior_judge_s:.0f} s per judge job, none measured yet"


def combine(config: Mapping, shards: Sequence[Shard], inference_s: float, judging_s: float) -> float:
    """Inference and judging together: one after the other (quiet windows), or beside each other with
    judge.overlap, when only what inference leaves over (at least the last shard's verdicts) comes after it."""
    if not config["judge"].get("overlap"):
        return inference_s + judging_s
    unjudged = [s for s in shards if not s.judged and not s.never_judged]
    last = judging_s / len(unjudged) if unjudged else 0.0
    return max(inference_s, judging_s) + (last if inference_s > 0 else 0.0)


def study_estimate(config: Mapping, shards: Sequence[Shard], prior_shard: Mapping[str, float],
                   prior_judge_s: float) -> Estimate:
    inference_s, basis = inference_left(shards, prior_shard)
    judging_s, judge_basis = judging_left(shards, prior_judge_s)
    return Estimate(inference_s, judging_s, combine(config, shards, inference_s, judging_s), basis, judge_basis)


def board_plan(config: Mapping, board: Board, model_gb: Mapping[str, float], questions_per_category: int,
               judge_gb: Optional[float] = None) -> Estimate:
    """The whole study on one board before anything is measured (the README's figure per board): every
    model x level x category shard of `questions_per_category` answers x prompts.variants, and the shards measured
    a second time (inference.shard_repeats)."""
    from .judge.panel import panel

    answers = questions_per_category * int(config["prompts"].get("variants") or 1)
    per_model = len(config["levels"]) * len(config["categories"])
    repeats = min(per_model, int(config["inference"].get("shard_repeats") or 0))  # measured twice, never judged
    shards = [Shard(m["id"], answers) for m in config["models"] for _ in range(per_model)]
    shards += [Shard(m["id"], answers, never_judged=True) for m in config["models"] for _ in range(repeats)]
    prior = {m["id"]: prior_shard_s(config, answers, model_gb.get(m["id"], UNKNOWN_MODEL_GB), board)
             for m in config["models"]}
    judges = panel(config["judge"])
    verdicts = answers * (int(config["judge"].get("repeats") or 1) + float(config["judge"].get("repeat_fraction")
                                                                            or 0)) * len(judges)
    return study_estimate(config, shards, prior, prior_judge_shard_s(config, judges, verdicts, board, judge_gb))


def duration(seconds: float) -> str:
    """`1 h 07 min`, `12 min`, or `40 s` under a minute."""
    if seconds < 60:
        return f"{max(0, round(seconds))} s"
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
