"""A scripted OpenAI-compatible server that streams (server-sent events), for the serving runtime's tests.

In a test's own process (`with SseServer(flavour="llama-server") as server: server.base_url`), or as a fake
server executable for `inference.server.executable` (`install_fake_server(dir)`: a real process started by the
runtime, which answers `-c ...` with a version as a Python would, serves on the `--port` it is given, and can be
told to exit after some answers, or at once, as a crashing server does).

Every request body is kept (`bodies`, with its path), so a test sees what the runtime sent. The answer to a
streamed request is ANSWER's words, one event per word, then a final event with finish_reason; the flavour
`llama-server` adds `timings` and `usage` as llama.cpp's server does, `plain` sends neither (as
llama-cpp-python's server does).
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import List

ANSWER = ["Red,", " green", " and", " blue."]
TIMINGS = {"prompt_n": 13, "prompt_ms": 26.0, "prompt_per_second": 500.0, "predicted_n": 4, "predicted_ms": 40.0,
           "predicted_per_second": 100.0}


def make_handler(outer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _json(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
            elif self.path == "/props" and outer.flavour == "llama-server":
                self._json(200, {"build_info": "b9999-stub"})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with outer.lock:
                outer.bodies.append({"path": self.path, **body})
            if not body.get("stream"):
                self._json(200, {"choices": [{"text": "x", "finish_reason": "length"}]})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chat = self.path.endswith("/chat/completions")
            words = ANSWER[: body.get("max_tokens") or len(ANSWER)]
            for word in words:
                time.sleep(outer.token_s)
                choice = {"delta": {"content": word}} if chat else {"text": word}
                self._event({"choices": [{"index": 0, **choice, "finish_reason": None}]})
            final = {"choices": [{"index": 0, **({"delta": {}} if chat else {"text": ""}),
                                  "finish_reason": "stop" if len(words) == len(ANSWER) else "length"}]}
            if outer.flavour == "llama-server":
                final["timings"] = TIMINGS
                final["usage"] = {"prompt_tokens": 13, "completion_tokens": len(words)}
            self._event(final)
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
            with outer.lock:
                outer.answered += 1
                if outer.exit_after and outer.answered >= outer.exit_after:
                    os._exit(3)

        def _event(self, payload):
            self._chunk(f"data: {json.dumps(payload)}\n\n".encode())

        def _chunk(self, data: bytes):
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


class SseServer:
    def __init__(self, flavour: str = "plain", port: int = 0, token_s: float = 0.01, exit_after: int = 0):
        self.flavour = flavour
        self.token_s = token_s
        self.exit_after = exit_after
        self.bodies: List[dict] = []
        self.answered = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), make_handler(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def streamed(self) -> List[dict]:
        return [b for b in self.bodies if b.get("stream")]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


FAKE = r'''#!__PYTHON__
# a fake server executable: `-c CODE` prints a version (as `python -c "import llama_cpp; ..."` would),
# `--version` prints llama-server's banner; anything else serves on --port until killed
import json, os, sys
sys.path.insert(0, __TESTS__)
CONFIG = json.loads(__CONFIG__)
with open(CONFIG["calls"], "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\n")
if sys.argv[1:2] == ["-c"]:
    print("9.9.9-fake")
    sys.exit(0)
if sys.argv[1:2] == ["--version"]:
    print("version: 9999 (fake)", file=sys.stderr)
    sys.exit(0)
if CONFIG["fail_start"]:
    print("error: cannot load the model (fake)", file=sys.stderr)
    sys.exit(1)
from sse_stub_server import SseServer
port = int(sys.argv[sys.argv.index("--port") + 1])
server = SseServer(CONFIG["flavour"], port=port, exit_after=CONFIG["exit_after"])
server.httpd.serve_forever()
'''


def install_fake_server(directory: Path, flavour: str = "plain", exit_after: int = 0,
                        fail_start: bool = False) -> Path:
    """An executable standing in for a server (or for the Python that runs llama_cpp.server); its argv are
    appended as JSON lines to <directory>/server_calls.jsonl."""
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / "fake-server"
    config = {"flavour": flavour, "exit_after": exit_after, "fail_start": fail_start,
              "calls": str(directory / "server_calls.jsonl")}
    exe.write_text(FAKE.replace("__PYTHON__", sys.executable).replace("__TESTS__", repr(str(Path(__file__).parent)))
                   .replace("__CONFIG__", repr(json.dumps(config))))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def server_calls(directory: Path) -> List[list]:
    path = directory / "server_calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
