"""Downloading question.jsonl at run time from a real HTTP server on 127.0.0.1: sha256 pin, HTTP errors,
offline, and nothing left behind on failure."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from slmbench.errors import UserError
from slmbench.prompts.fetch import fetch_file

PAYLOAD = '{"question_id": 1, "category": "math", "turns": ["Two plus two?"]}\n'.encode()


@pytest.fixture
def server():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path != "/question.jsonl":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def dead_url():
    with socket.socket() as probe:  # a port nobody listens on: what "offline" looks like to the fetcher
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/question.jsonl"


def test_download_with_a_matching_pin(server, tmp_path):
    out = fetch_file(f"{server}/question.jsonl", tmp_path / "data/q.jsonl", hashlib.sha256(PAYLOAD).hexdigest())
    assert out.read_bytes() == PAYLOAD
    assert fetch_file(f"{server}/question.jsonl", tmp_path / "unpinned.jsonl").read_bytes() == PAYLOAD


@pytest.mark.parametrize("path, sha256, expected", [
    ("/question.jsonl", "0" * 64, "differs from the configured"),
    ("/moved.jsonl", None, "HTTP 404"),
])
def test_a_wrong_pin_or_a_missing_file_leaves_nothing(server, tmp_path, path, sha256, expected):
    with pytest.raises(UserError, match=expected):
        fetch_file(f"{server}{path}", tmp_path / "q.jsonl", sha256)
    assert list(tmp_path.iterdir()) == []


def test_offline_says_where_to_put_the_file_in_one_line(tmp_path):
    out = tmp_path / "data" / "question.jsonl"
    proc = subprocess.run([sys.executable, "-m", "slmbench.cli", "prompts", "fetch", "--url", dead_url(), "--out",
                           str(out), "--timeout", "5"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"when offline, put the file at {out}" in proc.stderr
    assert not out.exists()
