"""The run record: one JSON line per recorded inference, shared by every stage.

Stdlib only and Python 3.10 compatible: the inference step may run under JetPack 6's system Python.
The field list is mirrored in workflow/schemas/run_record.schema.yaml; a test keeps the two in step.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional, Tuple, get_args, get_type_hints

from .errors import UserError

SCHEMA_VERSION = 1


@dataclass
class RunRecord:
    """One recorded inference. A measurement that could not be taken is None (JSON null), never 0."""

    model_id: str
    model_file: str
    model_sha256: Optional[str]
    quant: Optional[str]
    level: str
    question_id: int
    category: str
    prompt: str
    output: Optional[str] = None
    prompt_tokens: Optional[int] = None  # tokens of the fully templated prompt, by the model's tokenizer
    completion_tokens: Optional[int] = None
    thinking_tokens: Optional[int] = None  # of completion_tokens, those in <think> blocks cut from output
    latency_ms: Optional[float] = None  # wall time of the whole call, time.perf_counter
    ttft_ms: Optional[float] = None  # first streamed token, time.perf_counter
    prefill_tok_s: Optional[float] = None  # llama.cpp perf counters
    decode_tok_s: Optional[float] = None  # llama.cpp perf counters
    energy_j: Optional[float] = None  # net of idle power
    energy_gross_j: Optional[float] = None
    energy_per_token_j: Optional[float] = None  # decode energy / completion tokens (net of idle)
    mean_power_mw: Optional[float] = None
    idle_power_mw: Optional[float] = None
    power_source: Optional[str] = None
    power_rails: Optional[list] = None
    power_samples: Optional[int] = None
    energy_note: Optional[str] = None  # why energy is null, when it is
    finish_reason: Optional[str] = None
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    n_ctx: Optional[int] = None
    seed: Optional[int] = None
    device: Optional[str] = None
    power_mode: Optional[str] = None
    llama_cpp_version: Optional[str] = None
    started_at: Optional[str] = None  # ISO 8601, UTC
    status: str = "ok"  # "ok" | "error"
    error: Optional[str] = None
    schema_version: int = SCHEMA_VERSION
    chat_template_sha256: Optional[str] = None  # of the template text used (slmbench.chat)
    chat_template_source: Optional[str] = None  # "gguf" | "file" | "chat_format"
    # --- the measurement protocol (the order, the board's state, the split of the energy) ---
    run_index: Optional[int] = None  # position in the study's designed execution order (merge_runs numbers it)
    shard_position: Optional[int] = None  # the shard's position in the designed order (slmbench.run_order)
    shard_item: Optional[int] = None  # the run's position inside its shard (repeats come last)
    order_seed: Optional[int] = None  # inference.order_seed: the designed order is recomputable from it
    repeat: int = 0  # 0: the scored run; 1, 2 ...: timing repeats (same prompt, fresh context; never judged)
    variant: int = 0  # which wording of the question's prompt (prompts.variants); older records read as 0
    board: Optional[str] = None  # host name of the board that measured it
    load_s: Optional[float] = None  # the shard's model load time, seconds
    temp_c_start: Optional[float] = None  # hottest die zone at the call's start, degrees C (None: no sensor)
    temp_c_end: Optional[float] = None
    throttled: Optional[bool] = None  # a die zone at or above its passive trip point at the end of the call
    background_cpu_pct: Optional[float] = None  # CPU used by other processes during the window, % of the machine
    energy_prefill_j: Optional[float] = None  # net energy from the call's start to the first token
    energy_decode_j: Optional[float] = None  # net energy from the first token to the end; energy_j = the sum
    idle_source: Optional[str] = None  # "shard" (re-measured before this shard) | "baseline" (the board's)
    power_sensor_settings: Optional[str] = None  # the sensor's averaging where exposed (INA3221: samples, interval)
    # --- study design (issue 25) and factors (issue 30) ---
    shard_repeat: int = 0  # 0: the scored measurement of its shard; 1: the shard measured again (never judged)
    power_lag_ms: Optional[float] = None  # sensor lag applied to this window's sample times (power calibration)
    power_mode_id: Optional[int] = None  # nvpmodel id the shard ran in (jetson.power_modes)
    runtime: Optional[str] = None  # "llama-cpp-python" | "openai-server" (inference.runtime)
    runtime_version: Optional[str] = None  # the runtime's own version string

    def to_json(self) -> str:
        return dumps_compact(asdict(self))

    @classmethod
    def from_dict(cls, data: dict, where: str = "run record") -> "RunRecord":
        """The record `data` describes, checked as read_run_records checks every line (UserError naming `where`)."""
        return _checked(where, data)


RUN_RECORD_FIELDS = [f.name for f in fields(RunRecord)]
# one run of the study; the key every stage joins on. power_mode_id: the nvpmodel mode the run was measured in
# (jetson.power_modes), null off a Jetson; a study of several modes has one run per key and mode.
RECORD_KEY = ("model_id", "level", "question_id", "variant", "power_mode_id")
# The part of the key every file has: a record, prompt or score from before prompt variants is variant 0, and one
# from before power modes has no power_mode_id.
REQUIRED_KEY = tuple(k for k in RECORD_KEY if k not in ("variant", "power_mode_id"))
# power_mode_id in a table's key where a record has none (pandas groups drop null keys): never an nvpmodel id
NO_POWER_MODE = -1
# What every stage keys or branches on; a record without one of them is refused. Any other field a record
# lacks reads as its default (variant 0, repeat 0, otherwise null: a measurement not taken is null, never 0).
REQUIRED_FIELDS = (*REQUIRED_KEY, "category", "status")


def _field_kinds() -> dict:
    """field -> (accepted Python types, what to call them), from RunRecord's annotations."""
    names = {str: "a text", int: "an integer", float: "a number", list: "a list", bool: "true or false"}
    kinds = {}
    for name, hint in get_type_hints(RunRecord).items():
        base = next(t for t in (get_args(hint) or (hint,)) if t is not type(None))  # Optional[X] -> X
        kinds[name] = ((int, float) if base is float else (base,), names[base])
    return kinds


FIELD_KINDS = _field_kinds()
DEFAULTED = {f.name for f in fields(RunRecord) if f.default is not MISSING}  # the others absent read as None


def dumps_compact(obj: Any) -> str:
    """Compact JSON so `grep -o '"model_id":"[^"]*"'` counts records, as the study's checks do."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def read_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Yield JSON objects; a malformed line (e.g. a file cut by power loss) names the file and line."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg}); delete the file to redo it") from None


def _checked(where: str, data: Any) -> RunRecord:
    """The record a JSON object describes, or a UserError naming the field that is wrong."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: a run record must be a JSON object; delete the file so the workflow makes it again")
    unknown = sorted(set(data) - set(FIELD_KINDS))
    if unknown:
        raise UserError(f"{where}: unknown field(s) {', '.join(unknown)}; regenerate the shard (the field list is "
                        f"slmbench.records.RunRecord)")
    for name in REQUIRED_FIELDS:
        if data.get(name) in (None, ""):
            raise UserError(f"{where}: field {name} is missing; regenerate the shard it came from and merge again")
    if "variant" in data and data["variant"] is None:  # part of the key: absent reads as 0, null is an error
        raise UserError(f"{where}: field variant is null, not an integer; regenerate the shard it came from")
    for name, value in data.items():
        types, called = FIELD_KINDS[name]
        if value is None:
            continue
        # bool is an int to Python, not to the study; NaN and infinity are not measurements
        wrong = (isinstance(value, bool) and bool not in types) or not isinstance(value, types)
        if not wrong and isinstance(value, float) and not math.isfinite(value):
            wrong = True
        if wrong:
            hint = "fix the prompt CSV" if name == "question_id" else "regenerate the shard"
            null = "" if name in REQUIRED_FIELDS else " or null"
            raise UserError(f"{where}: field {name} is {value!r}, not {called}{null}; {hint}")
    absent = {name: None for name in RUN_RECORD_FIELDS if name not in data and name not in DEFAULTED}
    return RunRecord(**absent, **data)


def iter_run_records(path: str | os.PathLike) -> Iterator[Tuple[int, RunRecord]]:
    """(line number, record) for every record of a shard or of the merged runs, each checked.

    Bad input stops with a UserError naming the file, the line and the field: JSON cut by a power loss, an
    unknown field, a missing required field (REQUIRED_FIELDS), a value of the wrong type.
    """
    try:
        fh = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: run records not found; run the inference step first") from None
    with fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}:{lineno}: not valid JSON ({exc.msg}); delete the file so the workflow "
                                    f"makes it again") from None
                yield lineno, _checked(f"{path}:{lineno}", data)
        except UnicodeDecodeError:
            raise UserError(f"{path}: not UTF-8 text after line {lineno}; delete the file so the workflow makes it "
                            f"again") from None


def read_run_records(path: str | os.PathLike) -> List[RunRecord]:
    """Every record of a run-record file (a shard or the merged runs), checked; see iter_run_records."""
    return [record for _, record in iter_run_records(path)]


def current_umask() -> int:
    """This process's umask, read without changing it (os.umask can only set it: a race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc (or a kernel before 4.7): set and restore at once
    os.umask(mask)
    return mask


def umask_mode(directory: bool = False) -> int:
    """The mode open() or mkdir() would give a new file (0666) or folder (0777) under the umask: what a temporary
    file from tempfile (always 0600, 0700) must get before it is renamed into place, so a group sharing the
    results can read them."""
    return (0o777 if directory else 0o666) & ~current_umask()


@contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w", encoding: Optional[str] = "utf-8"):
    """Write to a temporary file beside `path` and rename it into place only on success.

    A crash, kill or full disk leaves no file at `path`, so Snakemake (and a reader) never sees a partial
    output that looks complete. The file gets the mode the umask gives a new file, as open() would.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        os.fchmod(fd, umask_mode())  # mkstemp makes it 0600 whatever the umask
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def jsonl_is_complete(path: str | os.PathLike) -> bool:
    """True when every line of the file is a JSON object and the file ends with a newline.

    Shards are renamed into place only when complete, but a power loss can still leave a renamed file whose
    data blocks never reached the disk (a zero-filled or cut tail). Such a file must be redone, not merged.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    if not data.endswith(b"\n"):
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in data.splitlines() if line.strip())
    except ValueError:
        return False


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    n = 0
    with atomic_output(path) as fh:
        for row in rows:
            fh.write(dumps_compact(row) + "\n")
            n += 1
    return n
