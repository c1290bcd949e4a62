"""One inference shard: every prompt (question and variant) of one (model, level, category), measured, as JSON lines.

Runs under the configurable inference interpreter (JetPack 6: system Python 3.10 with the CUDA build of
llama-cpp-python), so this module and what it imports stay stdlib-only and Python 3.10 compatible.

Method: load the model once (timed: `load_s`), one unrecorded warm-up generation, a short idle re-measurement
(`power.idle_per_shard_s`: the board's drift since the study-wide baseline), then for every prompt a fresh
context (`llm.reset()`: no KV prefix carried across prompts or levels), greedy decoding with an explicit
max_tokens, TTFT and wall latency from time.perf_counter, prefill/decode speed from llama.cpp's own perf
counters, and energy over the exact monotonic window of the call from one long-lived power sampler, split at
the first token into prefill and decode energy. The questions run in a seeded order; a seeded share of them
is measured again at the end of the shard (`inference.timing_repeats`) to show timing and energy noise. Every
record carries the board's state during its window: die temperature, throttling, other processes' CPU.
A shard on a board with a power sensor whose runs lack energy (the sensor died and did not come back) is not
kept: the job fails, so the next run of the workflow redoes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from .chat import split_thinking
from .errors import UserError
from .live import idle_line, inference_line, load_line
from .power.board_state import background_cpu_pct, cpu_snapshot, die_temp_c, throttled
from .prompt_rows import PromptRow, read_prompt_rows
from .records import RunRecord, atomic_output
from .run_order import question_order, timing_repeat_items

# the keys of config["power"] a shard's sampler needs
POWER_KEYS = ("backend", "interval_ms", "tegrastats_path", "rails", "max_gap_factor", "idle_per_shard_s")


@dataclass(frozen=True)
class InferenceSettings:
    """The config's inference section (less `python`, which only picks the interpreter) and its power section:
    what every shard's measurement depends on. Every key is required: the config files are the one home of the
    defaults, and this interpreter (stdlib only) cannot read them, so the rule passes them all (--settings)."""

    temperature: float
    max_tokens: int
    n_ctx: int
    n_gpu_layers: int
    n_threads: Optional[int]  # None: llama.cpp's choice
    seed: int
    warmup: bool  # one unrecorded generation before the first measured one
    order_seed: int  # the designed order of shards (slmbench.run_order) and of questions inside a shard
    timing_repeats: float  # share of runs measured again (seeded), 0 to 1
    cooldown_s: float  # wait before the shard starts, seconds (lets the board cool between shards)
    runtime: str  # "llama-cpp-python" (in this process) | "openai-server" (a local server: slmbench.serving)
    server: Dict[str, Any]  # config["inference"]["server"]: how the openai-server runtime reaches its server
    power: Dict[str, Any]  # config["power"]: backend, interval_ms, tegrastats_path, rails, max_gap_factor, ...

    @classmethod
    def from_mapping(cls, settings: Any, where: str = "--settings") -> "InferenceSettings":
        if not isinstance(settings, dict):
            raise UserError(f"{where}: expected a JSON object of the config's inference section and its power "
                            f"section, got {type(settings).__name__}")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in settings]
        power = settings.get("power")
        missing += [f"power.{k}" for k in POWER_KEYS if isinstance(power, dict) and k not in power]
        if missing:
            raise UserError(f"{where}: missing key(s) {', '.join(missing)}; pass the config's inference section "
                            f"with its power section (every key is required, see config/README.md)")
        if not isinstance(power, dict):
            raise UserError(f"{where}: power must be the config's power section (an object)")
        return cls(**{n: settings[n] for n in names})  # other keys of the section are not the shard's


@dataclass
class ShardSpec:
    model_id: str
    model_file: Path
    level: str
    category: str
    prompts_csv: Path
    out: Path
    model_facts: Dict[str, Any]  # from `slmbench models verify` (sha256, quant)
    idle_power_mw: Optional[float]
    settings: InferenceSettings
    chat_format: Optional[str] = None
    chat_template: Optional[Path] = None  # a Jinja file overriding the GGUF's template
    chat_template_kwargs: Optional[Dict[str, Any]] = None  # template variables (Qwen3: enable_thinking False)
    shard_position: Optional[int] = None  # in the study's designed order (the rule passes it)
    board: Optional[str] = None  # host name of the board (the rule passes it)
    sysfs_root: str = "/"  # where /proc and /sys are read (tests point it at a fake tree)
    power_mode: Optional[str] = None  # jetson.power_modes: the mode to switch to first (slmbench.power_modes)
    settle_s: float = 0.0  # jetson.settle_s: the wait after a switch
    clocks: Optional[str] = None  # jetson.clocks, applied again after a switch
    calibration: Optional[Path] = None  # power/calibration_<host>.json: the sensor's lag (slmbench power calibrate)
    shard_repeat: int = 0  # 1: the shard measured a second time (inference.shard_repeats): no timing repeats


def read_prompts(path: Path, level: str, category: str) -> List[PromptRow]:
    rows = [r for r in read_prompt_rows(path) if r.level == level and r.category == category]
    if not rows:
        raise UserError(f"{path}: no prompts for level {level} in category {category}; check the prompt spreadsheet")
    return rows


def device_description() -> str:
    model_file = Path("/proc/device-tree/model")
    if model_file.exists():
        return model_file.read_bytes().rstrip(b"\0").decode(errors="replace")
    return f"{platform.system()} {platform.machine()} ({os.cpu_count()} CPUs)"


def shard_common(spec: "ShardSpec") -> Dict[str, Any]:
    """What every record of a shard carries whatever the runtime: the model, the settings, the board's mode."""
    from .jetson import describe_power_mode, query_nvpmodel

    settings, mode = spec.settings, query_nvpmodel()  # one `nvpmodel -q` for both fields
    return dict(
        model_id=spec.model_id, model_file=spec.model_file.name, model_sha256=spec.model_facts.get("sha256"),
        quant=spec.model_facts.get("quant"), temperature=settings.temperature, max_tokens=settings.max_tokens,
        n_ctx=settings.n_ctx, seed=settings.seed, device=device_description(),
        power_mode=describe_power_mode(mode, spec.sysfs_root),
        power_mode_id=mode.mode_id if mode is not None else None,
    )


def open_runner(spec: "ShardSpec", sampler: Any) -> "ShardRunner":
    """The shard's runtime (inference.runtime): the model in this process, or behind a local server."""
    if spec.settings.runtime == "openai-server":
        from .serving import ServerShardRunner

        return ServerShardRunner(spec, sampler)
    return ShardRunner(spec, sampler)


class ShardRunner:
    """Owns the loaded model; `run(prompt)` returns one measured RunRecord."""

    def __init__(self, spec: ShardSpec, sampler: Any):
        self.spec = spec
        self.sampler = sampler
        import llama_cpp
        from llama_cpp import Llama

        from .chat import build_formatter, stop_token_ids

        self._llama_cpp = llama_cpp
        settings = spec.settings
        kwargs = dict(n_ctx=settings.n_ctx, n_gpu_layers=settings.n_gpu_layers, seed=settings.seed, verbose=False)
        if settings.n_threads:
            kwargs["n_threads"] = settings.n_threads
        try:
            self.llm = Llama(model_path=str(spec.model_file), **kwargs)
        except (ValueError, RuntimeError) as exc:
            raise UserError(
                f"could not load {spec.model_file} ({exc}); check the file (slmbench models verify) and, on out of "
                f"memory, lower inference.n_ctx ({settings.n_ctx}) or n_gpu_layers"
            ) from None
        self.idle_power_mw, self.idle_source = spec.idle_power_mw, "baseline"
        self.render = build_formatter(self.llm, spec.chat_format, spec.chat_template_kwargs, spec.chat_template)
        # a turn-end tag that is one special token (Phi-3.5's <|end|>) stops generation by its id
        self.stop_ids = set(stop_token_ids(self.llm, self.render.stop))
        version = getattr(llama_cpp, "__version__", None)
        self.common = dict(
            shard_common(spec), llama_cpp_version=version, runtime="llama-cpp-python", runtime_version=version,
            chat_template_sha256=self.render.sha256, chat_template_source=self.render.origin,
        )

    def close(self) -> None:
        """Nothing to end here (the model goes with the object); a server runtime stops its server."""

    def measure_idle(self, seconds: float) -> None:
        """The board's idle power right before this shard's runs (model loaded, nothing running), or the
        study-wide baseline when re-measuring is off (0 s) or gives no samples: drift on record, per shard."""
        self.idle_power_mw, self.idle_source = self.spec.idle_power_mw, "baseline"
        if seconds <= 0 or self.sampler.backend is None:
            return
        from .power.idle import summarize

        time.sleep(0.2)  # let the warm-up's tail settle
        t0 = time.monotonic()
        time.sleep(seconds)
        powers = [mw for _, mw in self.sampler.samples_between(t0, time.monotonic())]
        median = summarize(powers)["median_mw"]
        if median is not None:
            self.idle_power_mw, self.idle_source = median, "shard"

    def tokens_for(self, prompt: str):
        """(prompt tokens, stop strings, whether the prompt leaves a <think> block open)."""
        from .chat import prompt_opens_thinking, prompt_tokens, user_messages

        chat = self.render(user_messages(prompt))
        return prompt_tokens(self.llm, chat.text), chat.stop, prompt_opens_thinking(chat.text)

    def prompt_count(self, tokens: List[int]) -> Optional[int]:
        """The prompt's tokens before the call; None where only the runtime's answer will say (a chat server)."""
        return len(tokens)

    def generate(self, tokens: List[int], stop: List[str], max_tokens: int) -> dict:
        """Greedy generation from a fresh context; returns text, timings and counts."""
        llm, lib = self.llm, self._llama_cpp
        llm.reset()  # no KV prefix reuse across prompts: every level pays its full prefill
        lib.llama_perf_context_reset(llm.ctx)
        stop_bytes = [s.encode("utf-8") for s in stop if s]
        out_tokens: List[int] = []
        text = b""
        finish = "length"
        ttft = None
        start = time.perf_counter()
        for token in llm.generate(tokens, temp=self.spec.settings.temperature, top_k=40, top_p=1.0, min_p=0.0,
                                  repeat_penalty=1.0, reset=True):
            if ttft is None:
                ttft = time.perf_counter() - start
            if lib.llama_vocab_is_eog(llm._model.vocab, token) or token in self.stop_ids:
                finish = "stop"
                break
            text += llm.detokenize([token], prev_tokens=out_tokens)
            out_tokens.append(token)
            hit = next((s for s in stop_bytes if s in text[-(len(s) + 16):]), None)
            if hit is not None:
                text = text[: text.rfind(hit)]
                finish = "stop"
                break
            if len(out_tokens) >= max_tokens:
                break
        latency = time.perf_counter() - start
        perf = lib.llama_perf_context(llm.ctx)
        return {
            "text": text.decode("utf-8", errors="replace"),
            "completion_tokens": len(out_tokens),
            "finish_reason": finish,
            "latency_s": latency,
            "ttft_s": ttft,
            "prefill_tok_s": perf.n_p_eval / (perf.t_p_eval_ms / 1000) if perf.t_p_eval_ms > 0 else None,
            "decode_tok_s": perf.n_eval / (perf.t_eval_ms / 1000) if perf.t_eval_ms > 0 and perf.n_eval > 0 else None,
        }

    def warm_up(self, prompt: str) -> None:
        tokens, stop, _ = self.tokens_for(prompt)
        if len(tokens) + 8 <= self.spec.settings.n_ctx:
            self.generate(tokens, stop, max_tokens=8)

    def run(self, row: PromptRow, item: int = 0, repeat: int = 0) -> RunRecord:
        record = RunRecord(level=self.spec.level, question_id=row.question_id, variant=row.variant,
                           category=row.category, prompt=row.prompt, idle_power_mw=self.idle_power_mw,
                           idle_source=self.idle_source,
                           started_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                           power_source=self.sampler.name, power_rails=self.sampler.rails, shard_item=item,
                           power_sensor_settings=getattr(self.sampler.backend, "sensor_settings", None),
                           power_lag_ms=self.power_lag_ms, repeat=repeat, **self.common)
        try:
            tokens, stop, opens_thinking = self.tokens_for(row.prompt)
            record.prompt_tokens = self.prompt_count(tokens)
            budget = self.spec.settings.n_ctx - self.spec.settings.max_tokens
            if record.prompt_tokens is not None and record.prompt_tokens > budget:
                raise UserError(
                    f"prompt has {record.prompt_tokens} tokens, more than n_ctx - max_tokens = {budget}; raise "
                    f"inference.n_ctx or lower inference.max_tokens"
                )
            root = self.spec.sysfs_root
            record.temp_c_start = die_temp_c(root)
            cpu0 = cpu_snapshot(root)
            record.started_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            t0 = time.monotonic()
            result = self.generate(tokens, stop, self.spec.settings.max_tokens)
            t1 = time.monotonic()
            record.background_cpu_pct = background_cpu_pct(cpu0, cpu_snapshot(root))
            record.temp_c_end, record.throttled = die_temp_c(root), throttled(root)
        except (UserError, ValueError) as exc:
            record.status, record.error = "error", str(exc)
            return record
        except RuntimeError as exc:  # llama_decode failing is most often the KV cache not fitting in memory
            record.status, record.error = "error", (
                f"{exc}; if it ran out of memory, lower inference.n_ctx ({self.spec.settings.n_ctx}) or "
                f"inference.max_tokens ({self.spec.settings.max_tokens})")
            return record
        record.prompt_tokens = result.get("prompt_tokens", record.prompt_tokens)  # a chat server's own count
        record.output, thinking = split_thinking(result["text"], opens_thinking)
        record.thinking_tokens = self.count_tokens(thinking)
        record.completion_tokens = result["completion_tokens"]
        record.finish_reason = result["finish_reason"]
        record.latency_ms = round(result["latency_s"] * 1000, 3)
        record.ttft_ms = round(result["ttft_s"] * 1000, 3) if result["ttft_s"] is not None else None
        record.prefill_tok_s = result["prefill_tok_s"]
        record.decode_tok_s = result["decode_tok_s"]
        self._fill_energy(record, t0, t1, result["ttft_s"])
        return record

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0

    def _fill_energy(self, record: RunRecord, t0: float, t1: float, ttft_s: Optional[float]) -> None:
        """Gross energy over the call; net energy split at the first token into prefill and decode.

        energy_j is prefill + decode (each integrated over its own window), energy_per_token_j the decode
        energy per completion token: dividing the whole call's energy by the completion tokens would grow with
        the prompt's length by construction (prefill scales with it), exactly the variable the study varies.
        """
        from .power import net_energy_j

        window = self.sampler.window(t0, t1)
        record.power_samples = window.n_samples
        record.mean_power_mw = window.mean_power_mw
        record.energy_gross_j = window.energy_j
        if window.energy_j is None:
            record.energy_note = window.note or self.sampler.note
            return
        idle = self.idle_power_mw
        if idle is None:
            record.energy_note = "idle baseline missing: energy_j (net) is null, energy_gross_j is measured"
            return
        split = t0 + ttft_s if ttft_s is not None else t1
        prefill = self._part(t0, split, "prefill")
        decode = self._part(split, t1, "decode") if split < t1 else None
        record.energy_prefill_j = net_energy_j(prefill.energy_j, idle, split - t0)
        record.energy_decode_j = 0.0 if decode is None else net_energy_j(decode.energy_j, idle, t1 - split)
        if record.energy_decode_j is not None and record.completion_tokens:
            record.energy_per_token_j = record.energy_decode_j / record.completion_tokens
        if record.energy_prefill_j is None or record.energy_decode_j is None:
            record.energy_note = (prefill.note if record.energy_prefill_j is None else decode.note) or "split failed"
            record.energy_j = net_energy_j(window.energy_j, idle, t1 - t0)
            return
        record.energy_j = record.energy_prefill_j + record.energy_decode_j

    def _part(self, t0: float, t1: float, name: str):
        """The prefill or decode window; one shorter than two sampling periods is not measured: its estimate
        would be one or two held-out edge samples, the sensor's lag and phase more than the load."""
        from .power.integration import not_measured

        period = self.sampler.backend.period_s
        if t1 - t0 < 2 * period:
            return not_measured(t0, t1, f"{name} window {(t1 - t0) * 1000:.0f} ms is shorter than two sampling "
                                        f"periods ({2 * period * 1000:.0f} ms): {name} energy not measured "
                                        f"(energy_j is the whole call's)")
        return self.sampler.window(t0, t1)

    @property
    def power_lag_ms(self) -> Optional[float]:
        return round(self.sampler.lag_s * 1000, 3) if self.sampler.lag_calibrated else None


def apply_calibration(sampler: Any, path: Optional[Path], interval_ms: int) -> None:
    """Move the sampler's sample times back by the host's calibrated lag; say so when there is none to apply."""
    from .power.calibration import load_lag_ms

    if sampler.backend is None:
        return
    lag_ms, why = load_lag_ms(str(path) if path else None, sampler.name, int(interval_ms))
    if lag_ms is None:  # in the shard's log (the calibration rule said it on the console, once)
        _say(f"sensor lag not corrected: {why}; the records' power_lag_ms is null")
        return
    sampler.lag_s, sampler.lag_calibrated = lag_ms / 1000.0, True
    _say(f"sensor lag: sample times moved back {lag_ms:g} ms ({path})")


def run_shard(spec: ShardSpec) -> int:
    """Measure every prompt of the shard and write the JSONL atomically. Returns the number of records."""
    from .power import open_sampler

    rows = read_prompts(spec.prompts_csv, spec.level, spec.category)
    if not spec.model_file.exists():
        raise UserError(f"model file {spec.model_file} is missing; run the workflow's model rule or place it there")
    settings, power = spec.settings, spec.settings.power
    shard = (spec.model_id, spec.level, spec.category)
    # a shard's items are its (question, variant) rows; with one variant the order is the questions' own
    by_item = {(row.question_id, row.variant): row for row in rows}
    ordered = [by_item[item] for item in question_order(list(by_item), settings.order_seed, shard)]
    if spec.power_mode is not None:  # switched, settled and verified before anything is loaded or measured
        from .power_modes import switch_mode

        switch_mode(spec.power_mode, spec.settle_s, spec.clocks, spec.sysfs_root, say=_say)
    if settings.cooldown_s > 0:
        _say(f"cooling down {settings.cooldown_s:g} s before the shard (inference.cooldown_s)")
        time.sleep(settings.cooldown_s)
    sampler = open_sampler(
        backend=power["backend"], interval_ms=power["interval_ms"], tegrastats_path=power["tegrastats_path"],
        rails=power["rails"], max_gap_factor=power["max_gap_factor"],
    )
    with sampler, ExitStack() as stack:
        apply_calibration(sampler, spec.calibration, power["interval_ms"])
        loading = time.perf_counter()
        runner = open_runner(spec, sampler)
        stack.callback(runner.close)  # a server runtime's server stops when the shard ends, whatever happens
        load_s = time.perf_counter() - loading
        runner.common.update(load_s=round(load_s, 3), shard_position=spec.shard_position, board=spec.board,
                             order_seed=settings.order_seed, shard_repeat=spec.shard_repeat)
        _say(load_line(spec.model_id, spec.model_file.name, load_s))
        if settings.warmup:
            runner.warm_up(ordered[0].prompt)
        runner.measure_idle(float(power["idle_per_shard_s"]))
        _say(idle_line(runner.idle_power_mw, sampler.name))
        records = []
        for item, row in enumerate(ordered):  # one live line per answer, as it arrives (log and console)
            records.append(runner.run(row, item))
            _say(inference_line(records[-1]))
        # timing repeats: the same prompts again, fresh context, after the scored runs (measured, never judged)
        # (a repeated shard is a second measurement of the whole shard: its noise is the scored shard's repeats')
        timing = 0.0 if spec.shard_repeat else settings.timing_repeats
        for item, row in enumerate(timing_repeat_items(ordered, timing, settings.order_seed, shard),
                                   start=len(ordered)):
            records.append(runner.run(row, item, repeat=1))
            _say(inference_line(records[-1]))
    unmeasured = [r for r in records if r.status == "ok" and r.energy_gross_j is None]
    if sampler.backend is not None and unmeasured:
        _keep_aside(spec.out, records)
        raise UserError(
            f"{len(unmeasured)} of {len(records)} runs have no energy ({unmeasured[0].energy_note}); the shard is not "
            f"kept (its records are in {spec.out}.noenergy for a look): rerun the workflow to measure it again")
    with atomic_output(spec.out) as fh:
        for record in records:
            fh.write(record.to_json() + "\n")
    failed = sum(r.status == "error" for r in records)
    print(f"{spec.out}: {len(records)} records, {failed} errors", file=sys.stderr)
    return len(records)


def _keep_aside(out: Path, records: List[RunRecord]) -> None:
    """Records of a shard that is not kept, beside where it would have been (never read by the workflow)."""
    with atomic_output(Path(f"{out}.noenergy")) as fh:
        for record in records:
            fh.write(record.to_json() + "\n")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _load_json(path: Optional[str]) -> dict:
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompts", required=True, help="the category's prompt CSV")
    parser.add_argument("--model-id", required=True, help="the model's id in the config (models[].id)")
    parser.add_argument("--model-file", required=True, help="the GGUF file")
    parser.add_argument("--model-facts", help="JSON written by `slmbench models verify` (sha256, quant)")
    parser.add_argument("--level", required=True, help="the prompt level (L0 ... P)")
    parser.add_argument("--category", required=True, help="the question category")
    parser.add_argument("--idle", help="idle baseline JSON (median_mw)")
    parser.add_argument("--calibration", help="power calibration JSON (lag_ms), from `slmbench power calibrate`")
    parser.add_argument("--settings", required=True,
                        help="JSON: the config's inference section (every key) with its power section as 'power'")
    parser.add_argument("--chat-format", help="llama.cpp chat format overriding the GGUF's template")
    parser.add_argument("--chat-template", help="a Jinja chat template file overriding the GGUF's")
    parser.add_argument("--chat-template-kwargs", default="null", help="JSON object of template variables")
    parser.add_argument("--out", required=True, help="the shard to write (JSON lines, atomically)")
    parser.add_argument("--shard-position", type=int, help="the shard's position in the designed order")
    parser.add_argument("--board", help="host name of the board (recorded on every run)")
    parser.add_argument("--shard-repeat", type=int, default=0,
                        help="1: this is the shard measured a second time (inference.shard_repeats)")
    parser.add_argument("--power-mode", help="switch the board to this nvpmodel mode first (jetson.power_modes)")
    from .power_modes import add_switch_arguments

    add_switch_arguments(parser)


def spec_from_args(args) -> ShardSpec:
    try:
        settings = InferenceSettings.from_mapping(json.loads(args.settings))
    except ValueError as exc:
        raise UserError(f"--settings: not JSON ({exc}); pass the config's inference section as a JSON object") from None
    idle = _load_json(args.idle)
    return ShardSpec(
        model_id=args.model_id, model_file=Path(args.model_file), level=args.level, category=args.category,
        prompts_csv=Path(args.prompts), out=Path(args.out), model_facts=_load_json(args.model_facts),
        idle_power_mw=idle.get("median_mw"), settings=settings, chat_format=args.chat_format or None,
        chat_template=Path(args.chat_template) if args.chat_template else None,
        chat_template_kwargs=json.loads(args.chat_template_kwargs) or None,
        shard_position=args.shard_position, board=args.board or None,
        power_mode=args.power_mode or None, settle_s=args.settle_s, clocks=args.clocks or None,
        calibration=Path(args.calibration) if args.calibration else None, shard_repeat=args.shard_repeat,
    )


def _cmd_infer(args) -> int:
    run_shard(spec_from_args(args))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("infer", help="run one inference shard (model x level x category)")
    add_arguments(parser)
    parser.set_defaults(func=_cmd_infer)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point for the inference interpreter: `python -m slmbench.inference ...` (no pandas needed)."""
    parser = argparse.ArgumentParser(prog="python -m slmbench.inference", description=__doc__.splitlines()[0])
    add_arguments(parser)
    from .command import run  # one-line errors for user mistakes and a full disk, as the main CLI

    return run(_cmd_infer, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
