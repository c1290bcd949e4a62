"""A small scripted OpenAI-compatible server on 127.0.0.1 for judge tests: it counts and keeps every
request body, and answers from a script (valid verdicts, garbage, 401, 429 with Retry-After, slow)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, List

VALID = {"explanation": "fine", "factuality": 2.0, "helpfulness": 1.5, "structure": 2.5, "conciseness": 1.0}


def verdict_for(body: dict, **changes) -> str:
    """VALID as the request's schema asks for it: with reference_match where the judge was shown a reference."""
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema") \
        or (body.get("response_format") or {}).get("schema") or {}
    verdict = dict(VALID, **changes)
    if "reference_match" in schema.get("properties", {}) and "reference_match" not in verdict:
        verdict = {"explanation": verdict.pop("explanation"), "reference_match": True, **verdict}
    return json.dumps(verdict)


def chat_reply(content: str, model: str = "stub-judge-2026-01-01") -> dict:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of 16 concurrent judge requests (one new connection
    # each: HTTP/1.0) overflows it and the kernel drops SYNs, which costs a 1 s retransmit. Real servers
    # (uvicorn, llama-server) listen with a backlog of 128 or more.
    request_queue_size = 128


class StubServer:
    """`script(n, body) -> (status, headers, payload)` decides the n-th reply (n counts from 0)."""

    def __init__(self, script: Callable[[int, dict], tuple] | None = None, delay_s: float = 0.0):
        self.script = script or (lambda n, body: (200, {}, chat_reply(verdict_for(body))))
        self.delay_s = delay_s
        self.bodies: List[dict] = []
        self.answered: List[dict] = []  # bodies whose reply was fully sent
        self.auth: List[str] = []  # the Authorization header of each request
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with outer.lock:
                    n = len(outer.bodies)
                    outer.bodies.append(body)
                    outer.auth.append(self.headers.get("Authorization", ""))
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                status, headers, payload = outer.script(n, body)
                raw = isinstance(payload, (bytes, str))  # a reply that is not JSON (an HTML page)
                data = json.dumps(payload).encode() if not raw else (
                    payload.encode() if isinstance(payload, str) else payload)
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if raw else "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                with outer.lock:
                    outer.answered.append(body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
