"""`slmbench doctor`: check, before hours of inference, everything that would quietly ruin a run.

One line per check: OK, INFO, WARN or FAIL. A FAIL is something that would ruin the study (no power
readings, a CPU-only llama.cpp build on a GPU run, a wrong model file, a chat template that does not render,
a full disk, no judge key), and makes the command exit 1. The study's first rule runs it with `--apply`,
which also sets the configured power mode (`jetson.nvpmodel`, `jetson.clocks`) through `sudo -n` before
anything is measured.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, TextIO

from .config import load_config  # noqa: F401 - `slmbench.doctor.load_config` is public
from .errors import UserError
from .layout import StudyLayout

MIN_FREE_GB = 15.0  # four Q6_K models (~10 GB) plus results, logs and the judge cache
SENSOR_SECONDS = 1.5  # long enough for a dozen tegrastats lines at 100 ms
LATE_SHARE = 0.1  # more late samples than this share of the gaps: a WARN (an isolated one is only reported)
TEMPLATE_PROMPT = "Hi there"  # the user message each model's chat template is shown rendered with

# Runs inside the inference interpreter (maybe Python 3.10 without slmbench installed): stdlib + llama_cpp.
_INTERPRETER_PROBE = """
import json, sys
info = {"python": list(sys.version_info[:3]), "executable": sys.executable}
try:
    import llama_cpp
    info["llama_cpp"] = getattr(llama_cpp, "__version__", "unknown")
    info["gpu_offload"] = bool(llama_cpp.llama_supports_gpu_offload())
except Exception as exc:
    info["error"] = type(exc).__name__ + ": " + str(exc).splitlines()[0] if str(exc) else type(exc).__name__
print(json.dumps(info))
"""


@dataclass
class Check:
    name: str
    status: str  # ok | info | warn | fail
    detail: str

    def line(self) -> str:
        return f"{self.status.upper():<4} {self.name}: {self.detail}"


def _severity(config: dict) -> str:
    """A power-mode problem is a failure only when the config says the mode is required."""
    return "fail" if config["jetson"]["require"] else "warn"


def check_power_sensor(config: dict) -> List[Check]:
    """The board's power is read, from a short sampling: FAIL only when no power can be read (no sensor, no sample,
    no board total), saying what happened. A late sample (a busy board: tegrastats delayed) is not a failure: the
    check reports the worst gap, and WARNs only when samples are often later than a measured window tolerates."""
    from .power import open_sampler

    power = config["power"]
    backend = power["backend"]
    name = "tegrastats" if backend == "tegrastats" else "power sensor"
    if backend == "none":
        return [Check(name, "warn", "power.backend is none: no energy will be measured")]
    seconds = max(SENSOR_SECONDS, 5 * power["interval_ms"] / 1000)
    try:
        sampler = open_sampler(backend, power["interval_ms"], power["tegrastats_path"], power["rails"],
                               power["max_gap_factor"])
        with sampler:
            t0 = time.monotonic()
            time.sleep(seconds)
            t1 = time.monotonic()
            samples = sampler.samples_between(t0, t1) if sampler.backend is not None else []
            window = sampler.window(t0, t1)
            limit_s = sampler.max_gap_s
    except UserError as exc:
        return [Check(name, "fail", str(exc))]
    if sampler.name == "none":
        status = "warn" if backend == "auto" else "fail"
        return [Check(name, status, sampler.note or "no power sensor found")]
    if not samples:
        why = window.note or sampler.note or "no reading arrived"
        return [Check(name, "fail", f"{sampler.name} started but gave no board power reading in {seconds:.1f} s "
                                    f"({why}); check power.rails and the sensor with `slmbench power measure "
                                    f"--seconds 2`")]
    rails = "+".join(sampler.rails or []) or "board total"
    mean_mw = sum(mw for _, mw in samples) / len(samples)
    times = [t for t, _ in samples]
    gaps = [b - a for a, b in zip(times, times[1:])]
    worst = max(gaps) if gaps else None
    reads = f"{sampler.name} reads {mean_mw:.0f} mW ({rails}) from {len(samples)} samples"
    if worst is None:
        return [Check(name, "warn", f"{reads}: one sample in {seconds:.1f} s, no gap to judge the period by")]
    late = sum(gap > limit_s for gap in gaps)
    worst_words = f"worst gap {worst * 1000:.0f} ms"
    if late > max(1, LATE_SHARE * len(gaps)):  # often late: many measured windows would get no energy
        return [Check(name, "warn", f"{reads}; {late} of {len(gaps)} samples late, {worst_words} (a window with a "
                                    f"gap over {limit_s * 1000:.0f} ms gets no energy): the board is busy; close "
                                    f"other load (monitors, builds) before the study")]
    if late:
        worst_words += f" ({late} late sample: only a window over it loses its energy)"
    return [Check(name, "ok", f"{reads}, {worst_words}")]


def check_power_calibration(config: dict) -> List[Check]:
    """The sensor's lag on this host (power/calibration_<host>.json, rule power_calibrate): measured, or when."""
    from .boards import host_id

    power = config["power"]
    if power["backend"] == "none":
        return [Check("sensor lag", "info", "no power sensor: nothing to calibrate")]
    steps = power.get("calibration_steps", 0)
    if not steps:
        return [Check("sensor lag", "warn", "power.calibration_steps is 0: windows use the samples' arrival times "
                                            "(a 20 ms sensor lag reads prefill energy about 8 % low)")]
    path = Path(StudyLayout.from_config(config).calibration(host_id()))
    if not path.is_file():
        return [Check("sensor lag", "info", f"{path} not measured yet: the power_calibrate rule measures it before "
                                            f"the first shard (or `slmbench power calibrate --out {path}`)")]
    try:
        calibration = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [Check("sensor lag", "fail", f"{path}: unreadable ({exc}); delete it to re-measure")]
    if calibration.get("lag_ms") is None:
        return [Check("sensor lag", "warn", f"{path}: {calibration.get('note') or 'no lag measured'}; delete it to "
                                            f"re-measure")]
    return [Check("sensor lag", "ok", f"{calibration['lag_ms']:g} ms (rise {calibration.get('rise_ms')} ms, "
                                      f"{calibration.get('backend')}), applied to every window ({path})")]


def check_board(config: dict, root: str = "/") -> List[Check]:
    from .jetson import board_model, jetpack_major, l4t_version

    model = board_model(root)
    if model is None:
        return [Check("board", "warn", "not a Jetson (no device-tree model): no tegrastats, nvpmodel or "
                                       "jetson_clocks here")]
    l4t = l4t_version(root)
    release = (f"L4T {l4t} (JetPack {jetpack_major(l4t) or '?'})" if l4t
               else "L4T version unknown (no /etc/nv_tegra_release)")
    return [Check("board", "ok", f"{model}, {release}")]


def check_study_modes(modes: List[str], current, board_modes: dict) -> Check:
    """jetson.power_modes: every mode is one of this board's (each shard switches into its own; a switch that
    cannot be made stops that job, whatever jetson.require says)."""
    from .jetson import resolve_mode
    from .power_modes import as_configured

    if current is None:
        return Check("nvpmodel", "fail", f"jetson.power_modes ({', '.join(modes)}) needs nvpmodel, which is not "
                                         f"found (not a Jetson); set jetson.power_modes to null")
    try:
        ids = [resolve_mode(as_configured(mode), board_modes) for mode in modes]
    except ValueError as exc:
        return Check("nvpmodel", "fail", f"jetson.power_modes: {exc}")
    listed = ", ".join(f"{mode} (nvpmodel {i})" for mode, i in zip(modes, ids))
    return Check("nvpmodel", "ok", f"in {current}; the study measures {listed}, each job switching first")


def check_power_mode(config: dict, apply: bool, root: str = "/") -> List[Check]:
    from .jetson import apply_clocks, apply_nvpmodel, clocks_state, nvpmodel_modes, query_nvpmodel, resolve_mode
    from .power_modes import single_mode, study_modes

    # jetson.nvpmodel, or jetson.power_modes' only entry; a study of several modes switches in each job
    wanted_mode, wanted_clocks = single_mode(config["jetson"]), config["jetson"]["clocks"]
    checks = []
    current = query_nvpmodel()
    modes = study_modes(config["jetson"])
    if modes:
        checks.append(check_study_modes(modes, current, nvpmodel_modes(root)))
    elif wanted_mode is None:
        checks.append(Check("nvpmodel", "info", f"{current} (jetson.nvpmodel is null: left as it is)"
                            if current else "nvpmodel not found (not a Jetson)"))
    elif apply:
        result = apply_nvpmodel(wanted_mode, root)
        checks.append(Check("nvpmodel", "ok" if result.ok else _severity(config), result.message))
    elif current is None:
        checks.append(Check("nvpmodel", _severity(config), f"nvpmodel not found; jetson.nvpmodel {wanted_mode} "
                                                           f"cannot be checked"))
    else:
        try:
            matches = current.mode_id == resolve_mode(wanted_mode, nvpmodel_modes(root))
        except ValueError as exc:
            matches, current = False, f"{current}, and {exc}"
        checks.append(Check("nvpmodel", "ok", str(current)) if matches else Check(
            "nvpmodel", _severity(config), f"in {current}, jetson.nvpmodel wants {wanted_mode}; rerun with --apply "
                                           f"(uses sudo -n) or run `sudo nvpmodel -m <id>`"))
    state = clocks_state(root)
    if wanted_clocks is None:
        checks.append(Check("jetson_clocks", "info", f"clocks {state or 'unknown'} (jetson.clocks is null: left as "
                                                     f"they are)"))
    elif apply:
        result = apply_clocks(wanted_clocks, root)
        checks.append(Check("jetson_clocks", "ok" if result.ok else _severity(config), result.message))
    else:
        checks.append(Check("jetson_clocks", "ok", f"clocks {state}") if state == wanted_clocks else Check(
            "jetson_clocks", _severity(config), f"clocks {state or 'unknown'}, jetson.clocks wants {wanted_clocks}; "
                                                f"rerun with --apply or run `sudo jetson_clocks`"))
    return checks


def probe_interpreter(python: str) -> dict:
    """Python version, llama-cpp-python version and GPU offload support of the inference interpreter."""
    try:
        proc = subprocess.run([python, "-c", _INTERPRETER_PROBE], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"cannot run {python} ({exc})"}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"{python} exited {proc.returncode}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"}


def check_inference_interpreter(config: dict) -> List[Check]:
    python = config["inference"]["python"] or sys.executable
    info = probe_interpreter(python)
    if "python" not in info:
        return [Check("inference python", "fail", f"{info['error']}; set inference.python to a working "
                                                  f"interpreter (JetPack 6: /usr/bin/python3)")]
    version = ".".join(map(str, info["python"]))
    if tuple(info["python"][:2]) < (3, 10):
        return [Check("inference python", "fail", f"{python} is Python {version}; the inference step needs >= 3.10")]
    if "error" in info:
        return [Check("inference python", "fail", f"{python} (Python {version}) cannot import llama_cpp "
                                                  f"({info['error']}); install llama-cpp-python there (README)")]
    checks = [Check("inference python", "ok", f"{python}: Python {version}, llama-cpp-python {info['llama_cpp']}")]
    layers = config["inference"]["n_gpu_layers"]
    if info["gpu_offload"]:
        checks.append(Check("CUDA offload", "ok", "llama-cpp-python can offload layers to the GPU"))
    elif layers == 0:
        checks.append(Check("CUDA offload", "info", "CPU-only llama-cpp-python; fine with inference.n_gpu_layers 0"))
    else:
        checks.append(Check("CUDA offload", "fail", f"llama-cpp-python in {python} is a CPU-only build "
                            f"(llama_supports_gpu_offload is false) while inference.n_gpu_layers is {layers}: "
                            f"inference would run ~10x slower; rebuild it with CMAKE_ARGS=-DGGML_CUDA=on (README, "
                            f"'Run the study on a Jetson', step 2)"))
    return checks


def check_models(config: dict) -> List[Check]:
    from .models import check_facts, read_gguf_facts

    checks = []
    n_ctx = config["inference"]["n_ctx"]
    layout = StudyLayout.from_config(config)
    for model in config["models"]:
        path = Path(layout.model_file(model["file"]))
        name = f"model {model['id']}"
        if not path.exists():
            where = model["source"]["kind"]
            checks.append(Check(name, "warn", f"{path} is not there yet; the fetch_model rule gets it ({where})"))
            continue
        verified = Path(layout.model_facts(model["id"]))  # the verify_model rule's
        fresh = verified.exists() and verified.stat().st_mtime >= path.stat().st_mtime
        try:
            # reading a GGUF header takes seconds (the vocabulary is parsed); a fresh verified copy is enough
            facts = json.loads(verified.read_text(encoding="utf-8")) if fresh else read_gguf_facts(path)
            check_facts(path, facts, model["quant"], n_ctx)
        except (UserError, ValueError, KeyError) as exc:
            checks.append(Check(name, "fail", str(exc)))
            continue
        how = f"verified, sha256 {facts['sha256'][:12]}..." if fresh else "sha256 is checked by the verify_model rule"
        checks.append(Check(name, "ok", f"{path}: {facts['quant']}, context {facts['context_length']} ({how})"))
    return checks


def check_templates(config: dict, prompt: str = TEMPLATE_PROMPT) -> List[Check]:
    """Each present model's chat template rendered (no generation) by the inference interpreter's
    llama-cpp-python, as the shards will render it: the first line of `slmbench models render`."""
    python = config["inference"]["python"] or sys.executable
    package_root = str(Path(__file__).resolve().parents[1])  # the interpreter may not have slmbench installed
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
    checks = []
    for model in config["models"]:
        path = Path(config["models_dir"]) / model["file"]
        if not path.exists():
            continue  # check_models already warns
        command = [python, "-m", "slmbench.chat_render", str(path), "--prompt", prompt]
        for option, key in (("--chat-format", "chat_format"), ("--chat-template", "chat_template")):
            if model.get(key):
                command += [option, str(model[key])]
        if model.get("chat_template_kwargs"):
            command += ["--chat-template-kwargs", json.dumps(model["chat_template_kwargs"])]
        name = f"template {model['id']}"
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                                  env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            checks.append(Check(name, "fail", f"cannot run {python} ({exc})"))
            continue
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            checks.append(Check(name, "fail", reason.removeprefix("slmbench: error: ")))
            continue
        # the summary line; `slmbench models render` with the same options prints the whole text
        checks.append(Check(name, "ok", proc.stdout.splitlines()[0]))
    return checks


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def check_disk(config: dict, min_free_gb: float = MIN_FREE_GB) -> List[Check]:
    checks, seen = [], set()
    for key in ("results_dir", "models_dir"):
        where = _existing_ancestor(Path(config[key]))
        device = where.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        free_gb = shutil.disk_usage(where).free / 1e9
        status = "ok" if free_gb >= min_free_gb else "fail"
        hint = "" if status == "ok" else f"; free space (below {min_free_gb:.0f} GB a 4-hour run can die at hour three)"
        checks.append(Check(f"disk ({key})", status, f"{free_gb:.1f} GB free at {where}{hint}"))
    return checks


def check_judge(config: dict) -> List[Check]:
    judge = config["judge"]
    if judge["backend"] == "llamacpp":
        path = judge["model_path"]
        if path and Path(path).exists():
            return [Check("judge", "ok", f"llamacpp judge {path}")]
        return [Check("judge", "warn", f"llamacpp judge model {path} is not there yet (the workflow fetches it)")]
    env = judge["api_key_env"]
    if not env:
        if judge["base_url"]:
            return [Check("judge key", "ok", f"api_key_env is null: no key is sent to {judge['base_url']}")]
        return [Check("judge key", "fail", "judge.api_key_env is null, but api.openai.com needs a key; name the "
                                           "variable that holds it (e.g. OPENAI_API_KEY)")]
    if os.environ.get(env):
        return [Check("judge key", "ok", f"{env} is set (value not shown)")]
    if judge["base_url"]:
        return [Check("judge key", "warn", f"{env} is not set; fine only if {judge['base_url']} needs no key")]
    return [Check("judge key", "fail", f"{env} is not set; export {env}=... before running (judge.api_key_env)")]


# Programs that poll the board's sensors or GPU while they run: their load lands in every measured window.
KNOWN_MONITORS = ("jtop", "jetson_stats", "nvtop", "htop", "btop", "glances", "gnome-system-mo", "tegrastats")


def check_monitors(root: str = "/", own_pids: frozenset = frozenset()) -> List[Check]:
    """Warn about monitors running on the board (jtop.service polls it every second); they are not ours to stop."""
    found = set()
    for comm in Path(root, "proc").glob("[0-9]*/comm"):
        try:
            if int(comm.parent.name) in own_pids:
                continue
            name = comm.read_text().strip()
            cmdline = (comm.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        for monitor in KNOWN_MONITORS:
            if name.startswith(monitor) or f"/{monitor} " in f"{cmdline} " or f" {monitor} " in f" {cmdline} ":
                found.add(monitor)
    if found:
        return [Check("monitors", "warn", f"running now: {', '.join(sorted(found))}; they load the board during "
                      f"measured windows (jtop: sudo systemctl stop jtop.service); stop them before the study")]
    return [Check("monitors", "ok", "no known monitor (jtop, nvtop, htop, tegrastats ...) running")]


def run_checks(config: dict, apply: bool = False, emit: Optional[Callable[[Check], None]] = None,
               min_free_gb: float = MIN_FREE_GB, root: str = "/") -> List[Check]:
    """Every check, in the order a run needs them; `emit` sees each result as soon as it is known."""
    from .input_checks import check_inputs

    steps = [
        lambda: check_inputs(config),  # what the run stops on first: the spreadsheet, the question file
        lambda: check_power_mode(config, apply, root),  # the sensor check then reads the chosen mode
        lambda: check_power_sensor(config),
        lambda: check_power_calibration(config),
        lambda: check_board(config, root),
        lambda: check_inference_interpreter(config),
        lambda: check_models(config),
        lambda: check_templates(config),
        lambda: check_disk(config, min_free_gb),
        lambda: check_judge(config),
        lambda: check_monitors(root, frozenset({os.getpid(), os.getppid()})),
    ]
    results = []
    for step in steps:
        for check in step():
            results.append(check)
            if emit:
                emit(check)
    return results


def failures(checks: List[Check]) -> List[Check]:
    return [c for c in checks if c.status == "fail"]


def summary(checks: List[Check]) -> str:
    failed = failures(checks)
    if not failed:
        return f"doctor: all {len(checks)} checks passed"
    return f"doctor: {len(failed)} check(s) failed: {', '.join(c.name for c in failed)}"


def run_doctor(config: dict, out: Optional[str] = None, apply: bool = False, stream: Optional[TextIO] = None,
               min_free_gb: float = MIN_FREE_GB, root: str = "/") -> List[Check]:
    """Run the checks, print each line to `stream`; write the report to `out` only when nothing failed."""
    from .records import atomic_output

    stream = stream or sys.stdout

    def emit(check: Check) -> None:
        print(check.line(), file=stream, flush=True)

    checks = run_checks(config, apply, emit, min_free_gb, root)
    print(summary(checks), file=stream, flush=True)
    if out and not failures(checks):
        with atomic_output(out) as fh:
            fh.write("".join(c.line() + "\n" for c in checks) + summary(checks) + "\n")
    return checks


def _cmd_doctor(args) -> int:
    from .profile import load_study_config

    config, _ = load_study_config(args.configfile, args.profile, args.config_items)
    checks = run_doctor(config, args.out, apply=args.apply, min_free_gb=args.min_free_gb, root=args.root)
    return 1 if failures(checks) else 0  # the summary line, last on stdout, names the failed checks


def register(subparsers) -> None:
    parser = subparsers.add_parser("doctor", help="check the board, sensor, llama.cpp build, models, disk and judge "
                                                  "key before a long run")
    from .profile import add_study_config_arguments

    add_study_config_arguments(parser, verb="check")
    parser.add_argument("--apply", action="store_true",
                        help="set jetson.nvpmodel and jetson.clocks first (through sudo -n)")
    parser.add_argument("--out", help="write the report here when no check failed")
    parser.add_argument("--min-free-gb", dest="min_free_gb", type=float, default=MIN_FREE_GB,
                        help=f"free disk needed to pass (default {MIN_FREE_GB:g} GB)")
    parser.add_argument("--root", default="/", help="prefix of /proc, /sys and /etc (a fake board in tests)")
    parser.set_defaults(func=_cmd_doctor)
