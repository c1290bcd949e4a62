"""The serving runtime (`inference.runtime: openai-server`): one shard measured through a local OpenAI-compatible
server instead of llama-cpp-python inside the inference process.

Stdlib only and Python 3.10 compatible: it runs under the inference interpreter (JetPack 6's system Python), so
HTTP and the server-sent events of a streamed answer are read with http.client, not the openai package.

The shard protocol is the in-process one (slmbench.inference.ShardRunner: quiet window, warm-up, idle
re-measured, one power sampler, energy split at the first token); only the model sits behind HTTP:

- The server (`inference.server.start`): `llama-cpp-python` (`python -m llama_cpp.server`) or `llama-server`
  (llama.cpp's own), started here with the shard's GGUF and inference settings on 127.0.0.1 and stopped after
  the shard's last run; or `url`: a server already running on this board (Ollama, one started by hand), neither
  started nor stopped. Its start (the record's `load_s`) and its stop lie outside every measured window; it runs
  on the board, so its power is in each window. A URL must be on this machine (loopback): the board's rails
  measure the board, so a model answering elsewhere would be measured as an idle board.
- `inference.server.api: completions` (the default): the prompt is rendered HERE by the model's chat template
  (slmbench.chat over the GGUF's vocabulary, loaded alone: `vocab_only`) and sent as text to /v1/completions,
  so the server sees the in-process runtime's prompt, token count and stop strings, and greedy answers of the two
  runtimes can be compared. `chat`: the messages go to /v1/chat/completions and the server applies its own
  template (Ollama's Modelfile); the prompt's tokens are then the server's count, or null where it gives none.
- Every answer is streamed: TTFT at the first streamed text, wall latency by time.perf_counter, the decode rate
  from the streamed tokens (tokens after the first / time after the first). Where the server reports its own
  `timings` (llama-server) they give the prefill and decode speeds, and its `usage` the token counts.
- A fresh context per prompt: every request says `cache_prompt: false` (llama-server honours it).
  llama-cpp-python's server has no such switch and keeps the KV of the longest prefix a request shares with the
  previous one, as Ollama does: a timing repeat right after its own prompt would skip its prefill. So before each
  measured request, one request of one token with another short user message (FLUSH_MESSAGE) replaces that
  prefix, and every prompt then shares exactly the template's opening tokens with the request before it (the same
  few tokens whatever the order). A prefix of BOS alone would not do: its KV, computed beside other tokens, gave
  the tiny model other greedy answers than a fresh context; the template's opening, as ordinary successive
  prompts share it, gave the same answers. The request lies outside the window, followed by one sensor period's
  pause so its power tail stays out of it.
- Greedy as in-process: temperature 0 (inference.temperature), top_k 40, top_p 1, min_p 0, repeat_penalty 1,
  the shard's seed.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .errors import UserError
from .inference import ShardRunner, ShardSpec, shard_common

RUNTIMES = ("llama-cpp-python", "openai-server")
STARTS = ("llama-cpp-python", "llama-server", "url")
APIS = ("completions", "chat")
SERVER_KEYS = ("start", "url", "api", "model", "executable", "port", "start_timeout_s", "args")
HOST = "127.0.0.1"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
READ_TIMEOUT_S = 600  # between two bytes of an answer: a long prefill on a slow board, never a whole answer
FLUSH_MESSAGE = "Hello."  # the prefix-replacing request's user message (see the module docstring)
STOP_WAIT_S = 30


@dataclass(frozen=True)
class ServerSettings:
    """`inference.server`: how the shard reaches its server (config/README.md explains every key)."""

    start: str  # STARTS
    url: Optional[str]  # start `url`: the base URL, e.g. http://127.0.0.1:11434/v1 (Ollama)
    api: str  # APIS
    model: Optional[str]  # the model's name on the server (Ollama: "qwen3:4b"); None: models[].id
    executable: Optional[str]  # llama-server's path, or the Python that runs llama_cpp.server; None: the default
    port: int  # started servers: 0 picks a free port
    start_timeout_s: float
    args: Tuple[str, ...]  # more arguments for a started server's command line

    @classmethod
    def from_mapping(cls, data: Any, where: str = "inference.server") -> "ServerSettings":
        if not isinstance(data, dict):
            raise UserError(f"{where}: expected an object with the keys {', '.join(SERVER_KEYS)} (config/README.md)")
        missing = [k for k in SERVER_KEYS if k not in data]
        if missing:
            raise UserError(f"{where}: missing key(s) {', '.join(missing)}; every key is required (config/README.md)")
        if data["start"] not in STARTS:
            raise UserError(f"{where}.start: {data['start']!r} is not one of {', '.join(STARTS)}")
        if data["api"] not in APIS:
            raise UserError(f"{where}.api: {data['api']!r} is not one of {', '.join(APIS)}")
        if (data["start"] == "url") != bool(data["url"]):
            raise UserError(f"{where}.url: give the server's base URL exactly when start is url (e.g. "
                            f"http://127.0.0.1:11434/v1 for Ollama); a started server's URL is its own")
        if data["url"]:
            host = urllib.parse.urlsplit(str(data["url"])).hostname
            if host not in LOOPBACK:
                raise UserError(f"{where}.url: {data['url']} is not on this machine; the server must run on the board "
                                f"whose power is measured (use 127.0.0.1 or localhost)")
        return cls(start=data["start"], url=str(data["url"]).rstrip("/") if data["url"] else None, api=data["api"],
                   model=data["model"] or None, executable=data["executable"] or None, port=int(data["port"] or 0),
                   start_timeout_s=float(data["start_timeout_s"]), args=tuple(str(a) for a in data["args"] or ()))


class ServerError(UserError):
    """The server refused or failed one request (an error record; the shard goes on)."""


class ServerGone(UserError):
    """The server is no longer there: the shard stops and is not kept, so the next run redoes it."""


# ---------------------------------------------------------------- HTTP


def _split(base_url: str) -> Tuple[str, int, str]:
    parts = urllib.parse.urlsplit(base_url)
    return parts.hostname or HOST, parts.port or (443 if parts.scheme == "https" else 80), parts.path.rstrip("/")


def _connection(base_url: str, timeout: float) -> http.client.HTTPConnection:
    host, port, _ = _split(base_url)
    return http.client.HTTPConnection(host, port, timeout=timeout)


def get_json(url: str, timeout: float = 5.0) -> Tuple[int, Any, Dict[str, str]]:
    """(status, parsed body or None, headers) of a GET; OSError when nothing answers."""
    base, path = url, urllib.parse.urlsplit(url).path or "/"
    conn = _connection(base, timeout)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        raw = reply.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return reply.status, body, {k.lower(): v for k, v in reply.getheaders()}
    finally:
        conn.close()


def _error_text(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return " ".join(raw.decode("utf-8", errors="replace").split())[:300]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message") or error
    return " ".join(str(error).split())[:300]


def post_json(base_url: str, path: str, body: dict, timeout: float = READ_TIMEOUT_S) -> Any:
    conn = _connection(base_url, timeout)
    try:
        conn.request("POST", _split(base_url)[2] + path, json.dumps(body), {"Content-Type": "application/json"})
        reply = conn.getresponse()
        raw = reply.read()
    except (OSError, http.client.HTTPException) as exc:
        raise ServerGone(f"{base_url}{path}: the server stopped answering ({exc or type(exc).__name__})") from None
    finally:
        conn.close()
    if reply.status != 200:
        raise ServerError(f"{base_url}{path}: HTTP {reply.status}: {_error_text(raw)}")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise ServerError(f"{base_url}{path}: a reply that is not JSON") from None


@dataclass
class StreamedAnswer:
    text: str
    ttft_s: Optional[float]  # first streamed text, from just before the request was sent
    latency_s: float  # the whole call, to the end of the stream
    chunks: int  # events that carried text (one per token for llama.cpp's servers)
    decode_span_s: Optional[float]  # first to last text event
    finish_reason: Optional[str]
    usage: Optional[dict]  # the server's token counts, where it sends them
    timings: Optional[dict]  # llama-server's own timings (prompt_per_second, predicted_per_second, ...)


def stream_answer(base_url: str, api: str, body: dict, timeout: float = READ_TIMEOUT_S) -> StreamedAnswer:
    """One streamed completion (SSE `data:` events up to `[DONE]`), timed as it arrives."""
    path = "/completions" if api == "completions" else "/chat/completions"
    conn = _connection(base_url, timeout)
    pieces: List[str] = []
    first = last = None
    finish, usage, timings = None, None, None
    try:
        start = time.perf_counter()
        conn.request("POST", _split(base_url)[2] + path, json.dumps(body),
                     {"Content-Type": "application/json", "Accept": "text/event-stream"})
        reply = conn.getresponse()
        if reply.status != 200:
            raise ServerError(f"{base_url}{path}: HTTP {reply.status}: {_error_text(reply.read())}")
        for raw in reply:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue  # blank separators, comments, `event:` lines
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            now = time.perf_counter()
            event = json.loads(data)
            if isinstance(event, dict) and event.get("error"):
                raise ServerError(f"{base_url}{path}: {_error_text(data)}")
            choice = (event.get("choices") or [{}])[0]
            text = choice.get("text") if api == "completions" else (choice.get("delta") or {}).get("content")
            if text:
                first = now if first is None else first
                last = now
                pieces.append(text)
            finish = choice.get("finish_reason") or finish
            usage = event.get("usage") or usage
            timings = event.get("timings") or timings
        latency = time.perf_counter() - start
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut mid-stream
        raise ServerGone(f"{base_url}{path}: the server stopped answering ({exc or type(exc).__name__})") from None
    except ValueError as exc:
        raise ServerError(f"{base_url}{path}: an event that is not JSON ({exc})") from None
    finally:
        conn.close()
    return StreamedAnswer("".join(pieces), None if first is None else first - start, latency,
                          len(pieces), None if first is None else last - first, finish, usage, timings)


# ---------------------------------------------------------------- the server process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_command(settings: ServerSettings, spec: ShardSpec, port: int, alias: str) -> List[str]:
    """The command line that serves the shard's GGUF with the shard's inference settings."""
    s = spec.settings
    if settings.start == "llama-cpp-python":
        if spec.chat_template and settings.api == "chat":
            raise UserError("python -m llama_cpp.server cannot read a Jinja chat template file "
                            "(models[].chat_template); use inference.server.api: completions (the template is "
                            "applied here) or start: llama-server")
        cmd = [settings.executable or sys.executable, "-m", "llama_cpp.server", "--model", str(spec.model_file),
               "--host", HOST, "--port", str(port), "--n_ctx", str(s.n_ctx), "--n_gpu_layers", str(s.n_gpu_layers),
               "--seed", str(s.seed), "--model_alias", alias]
        cmd += ["--n_threads", str(s.n_threads)] if s.n_threads else []
        cmd += ["--chat_format", spec.chat_format] if spec.chat_format and settings.api == "chat" else []
    else:  # llama-server: one slot, so the whole n_ctx is the prompt's (several slots would split it)
        cmd = [settings.executable or "llama-server", "--model", str(spec.model_file), "--host", HOST, "--port",
               str(port), "--ctx-size", str(s.n_ctx), "--n-gpu-layers", str(s.n_gpu_layers), "--seed", str(s.seed),
               "--alias", alias, "--parallel", "1"]
        cmd += ["--threads", str(s.n_threads)] if s.n_threads else []
        if settings.api == "chat" and spec.chat_template:
            cmd += ["--jinja", "--chat-template-file", str(spec.chat_template)]
        elif settings.api == "chat" and spec.chat_format:
            cmd += ["--chat-template", spec.chat_format]
    return cmd + list(settings.args)


def _output_of(cmd: List[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout + "\n" + proc.stderr).strip() if proc.returncode == 0 else ""


def started_version(settings: ServerSettings, cmd: List[str]) -> Tuple[Optional[str], Optional[str]]:
    """(runtime_version, llama_cpp_version) of a server this module starts, asked of its own executable."""
    if settings.start == "llama-cpp-python":
        found = _output_of([cmd[0], "-c", "import llama_cpp; print(llama_cpp.__version__)"]).splitlines()
        return (f"llama_cpp.server {found[-1]}", found[-1]) if found else (None, None)
    for line in _output_of([cmd[0], "--version"]).splitlines():  # "version: 4567 (1a2b3c4)"
        if line.lower().startswith("version:"):
            build = line.split(":", 1)[1].strip()
            return f"llama-server {build}", build
    return None, None


def url_version(base_url: str) -> Tuple[Optional[str], Optional[str]]:
    """What a server at a given URL says it is: Ollama's /api/version, llama-server's /props build_info, or the
    HTTP Server header; (None, None) when it says nothing."""
    parts = urllib.parse.urlsplit(base_url)
    root = f"{parts.scheme}://{parts.netloc}"
    for path, read in (("/api/version", lambda b: f"ollama {b['version']}"),
                       ("/props", lambda b: f"llama-server {b['build_info']}")):
        try:
            status, body, _ = get_json(root + path)
            if status == 200 and isinstance(body, dict):
                return read(body), None
        except (OSError, KeyError, http.client.HTTPException):
            continue
    try:
        _, _, headers = get_json(base_url + "/models")
    except (OSError, http.client.HTTPException):
        return None, None
    return headers.get("server"), None


class Server:
    """The shard's server: `base_url` (ending in /v1), the `model` name to ask for, its version, `stop()`."""

    def __init__(self, settings: ServerSettings, spec: ShardSpec):
        self.settings = settings
        self.model = settings.model or spec.model_id
        self.process: Optional[subprocess.Popen] = None
        self._log = None
        if settings.start == "url":
            self.base_url = settings.url
            self._wait_ready(None)
            self.version, self.llama_cpp_version = url_version(self.base_url)
            return
        port = settings.port or free_port()
        cmd = server_command(settings, spec, port, self.model)
        self.version, self.llama_cpp_version = started_version(settings, cmd)
        self.base_url = f"http://{HOST}:{port}/v1"
        self._log = tempfile.TemporaryFile()  # its output, shown when it fails to start
        try:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        except OSError as exc:
            self._log.close()
            raise UserError(f"inference.server.start {settings.start}: cannot run {cmd[0]} ({exc.strerror}); install "
                            f"it or set inference.server.executable") from None
        try:
            self._wait_ready(cmd)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, cmd: Optional[List[str]]) -> None:
        """Until GET /v1/models answers 200 (llama-server answers 503 while it loads the model)."""
        deadline = time.monotonic() + self.settings.start_timeout_s
        while True:
            try:
                if get_json(self.base_url + "/models", timeout=2.0)[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if self.process is not None and self.process.poll() is not None:
                raise UserError(f"the server exited (status {self.process.returncode}) while starting: "
                                f"{self.output_tail()}; command: {' '.join(cmd or [])}")
            if time.monotonic() > deadline:
                where = f"started as {' '.join(cmd)}" if cmd else "inference.server.url"
                raise UserError(f"no OpenAI-compatible server answered at {self.base_url}/models within "
                                f"{self.settings.start_timeout_s:g} s ({where}); check it, or raise "
                                f"inference.server.start_timeout_s")
            time.sleep(0.25)

    def output_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [line for line in self._log.read().decode("utf-8", errors="replace").splitlines() if line.strip()]
        return lines[-1].strip()[:300] if lines else "no output"

    def alive(self) -> bool:
        return self.process is None or self.process.poll() is None

    def stop(self) -> None:
        """Ends a server this module started (terminate, then kill); a given URL's server is left running."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


# ---------------------------------------------------------------- the shard runner


class ServerPrompt(list):
    """A prompt ready for the server: its tokens counted here (completions api; empty for chat) and what is sent."""

    def __init__(self, tokens: List[int], text: Optional[str] = None, messages: Optional[List[dict]] = None):
        super().__init__(tokens)
        self.text = text
        self.messages = messages


def load_vocab(model_file: Path):
    """The GGUF's vocabulary and metadata alone (no weights): the prompt is rendered and counted as in-process."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise UserError("inference.server.api completions renders the prompt here with llama-cpp-python (the GGUF's "
                        "vocabulary only); install it in inference.python, or use api: chat") from None
    try:
        return Llama(model_path=str(model_file), vocab_only=True, n_ctx=16, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise UserError(f"could not read the vocabulary of {model_file} ({exc}); check the file "
                        f"(slmbench models verify)") from None


class ServerShardRunner(ShardRunner):
    """ShardRunner's protocol with the model behind a local server: what differs is how a prompt is prepared,
    generated and counted (see the module docstring)."""

    def __init__(self, spec: ShardSpec, sampler: Any):
        self.spec, self.sampler = spec, sampler
        self.server_settings = ServerSettings.from_mapping(spec.settings.server)
        self.vocab = self.render = None
        if self.server_settings.api == "completions":
            from .chat import build_formatter

            self.vocab = load_vocab(spec.model_file)
            self.render = build_formatter(self.vocab, spec.chat_format, spec.chat_template_kwargs, spec.chat_template)
            bos = self.vocab.token_bos()
            # the servers add the BOS themselves, without checking the text for one (a Jinja template's
            # `{{ bos_token }}`): a leading BOS text is left out of what is sent, so it is not doubled
            self.bos_text = self.vocab._model.token_get_text(bos) if bos >= 0 and self.vocab._model.add_bos_token() \
                else ""
        self.server = Server(self.server_settings, spec)
        self._lost = False
        self.idle_power_mw, self.idle_source = spec.idle_power_mw, "baseline"
        self.common = dict(
            shard_common(spec), runtime="openai-server", runtime_version=self.server.version,
            llama_cpp_version=self.server.llama_cpp_version,
            chat_template_sha256=self.render.sha256 if self.render else None,
            chat_template_source=self.render.origin if self.render else None,  # chat api: the server's own
        )

    def close(self) -> None:
        self.server.stop()

    def tokens_for(self, prompt: str):
        from .chat import prompt_opens_thinking, prompt_tokens, user_messages

        self._call(self._replace_server_prefix)
        if self.render is None:
            return ServerPrompt([], messages=user_messages(prompt)), [], False
        chat = self.render(user_messages(prompt))
        return ServerPrompt(prompt_tokens(self.vocab, chat.text), text=self._sent_text(chat.text)), chat.stop, \
            prompt_opens_thinking(chat.text)

    def _sent_text(self, rendered: str) -> str:
        return rendered[len(self.bos_text):] if self.bos_text and rendered.startswith(self.bos_text) else rendered

    def prompt_count(self, tokens: ServerPrompt) -> Optional[int]:
        return len(tokens) if self.render is not None else None  # chat api: the server counts (generate)

    def _replace_server_prefix(self) -> None:
        """A one-token request with another prompt, so the next prompt finds no KV prefix of the last one (see the
        module docstring); llama-server is told `cache_prompt: false` instead."""
        if (self.server.version or "").startswith("llama-server"):  # started as such, or it says so (/props)
            return
        from .chat import user_messages

        body = {"model": self.server.model, "max_tokens": 1, "temperature": 0.0, "cache_prompt": False}
        if self.render is None:
            post_json(self.server.base_url, "/chat/completions", {**body, "messages": user_messages(FLUSH_MESSAGE)})
        else:
            post_json(self.server.base_url, "/completions",
                      {**body, "prompt": self._sent_text(self.render(user_messages(FLUSH_MESSAGE)).text)})
        time.sleep(float(self.spec.settings.power["interval_ms"]) / 1000)  # its power tail leaves the window

    def generate(self, tokens: ServerPrompt, stop: List[str], max_tokens: int) -> dict:
        s = self.spec.settings
        body: Dict[str, Any] = dict(model=self.server.model, max_tokens=max_tokens, stream=True,
                                    temperature=s.temperature, top_k=40, top_p=1.0, min_p=0.0, repeat_penalty=1.0,
                                    seed=s.seed, cache_prompt=False, stream_options={"include_usage": True})
        if stop:
            body["stop"] = stop
        if self.render is not None:
            body["prompt"] = tokens.text
        else:
            body["messages"] = tokens.messages
            if self.spec.chat_template_kwargs:  # llama-server passes them to its Jinja template
                body["chat_template_kwargs"] = self.spec.chat_template_kwargs
        answer = self._call(stream_answer, self.server.base_url, self.server_settings.api, body)
        return self._result(answer, tokens)

    def _call(self, function, *args):
        try:
            return function(*args)
        except ServerGone:
            self._lost = True  # run() then checks whether the server is still there
            raise

    def _result(self, answer: StreamedAnswer, tokens: ServerPrompt) -> dict:
        usage, timings = answer.usage or {}, answer.timings or {}
        completion = usage.get("completion_tokens")
        if completion is None:
            completion = self.count_tokens(answer.text) if self.vocab is not None else answer.chunks
        prompt = len(tokens) if self.render is not None else usage.get("prompt_tokens", timings.get("prompt_n"))
        prefill = timings.get("prompt_per_second")
        if prefill is None and prompt and answer.ttft_s:
            prefill = prompt / answer.ttft_s  # from the stream: includes the request's own overhead
        decode = timings.get("predicted_per_second")
        if decode is None and completion and completion > 1 and answer.decode_span_s:
            decode = (completion - 1) / answer.decode_span_s
        result = {"text": answer.text, "completion_tokens": completion, "finish_reason": answer.finish_reason,
                  "latency_s": answer.latency_s, "ttft_s": answer.ttft_s, "prefill_tok_s": prefill,
                  "decode_tok_s": decode}
        if self.render is None:
            result["prompt_tokens"] = prompt
        return result

    def count_tokens(self, text: str) -> Optional[int]:
        if not text:
            return 0
        if self.vocab is None:
            return None  # chat api: no tokenizer here, and a guess is not a count
        return len(self.vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def run(self, row, item: int = 0, repeat: int = 0):
        self._lost = False
        record = super().run(row, item, repeat)  # a failed request is an error record, as in-process
        if self._lost and self.server.process is not None:
            try:  # a refused connection: a server on its way out has closed its socket first
                self.server.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if not self.server.alive():  # its answers from here on would all be errors: stop, keep no shard
            raise ServerGone(f"the server exited during the shard (status {self.server.process.returncode}: "
                             f"{self.server.output_tail()}); the shard is not kept: rerun the workflow")
        return record
