"""`slmbench models verify|fetch` with the real tiny GGUF and a Hugging Face-like server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

TINY_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def slmbench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slmbench.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slmbench: error: "), proc.stderr
    return lines[0]


def test_expecting_q6_k_rejects_the_q4_k_m_file_naming_q4_k_m(tiny_model, tmp_path):
    out = tmp_path / "facts.json"
    line = one_error_line(slmbench("models", "verify", str(tiny_model), "--expect-quant", "Q6_K", "--out", str(out)))
    assert "quantization is Q4_K_M, expected Q6_K" in line and str(tiny_model) in line
    assert not out.exists()


def test_expecting_q4_k_m_accepts_it_and_writes_the_facts(tiny_model, tmp_path):
    out = tmp_path / "facts.json"
    proc = slmbench("models", "verify", str(tiny_model), "--expect-quant", "Q4_K_M", "--sha256", TINY_SHA256,
                    "--min-context", "2048", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(out.read_text())
    assert facts["quant"] == "Q4_K_M" and facts["sha256"] == TINY_SHA256
    assert facts["general.architecture"] == "gemma3" and facts["context_length"] >= 2048
    assert facts["size_bytes"] == tiny_model.stat().st_size


def test_a_truncated_copy_is_rejected_in_one_line_naming_it(tiny_model, tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(tiny_model, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(tiny_model.stat().st_size // 2))
    out = tmp_path / "facts.json"
    line = one_error_line(slmbench("models", "verify", str(cut), "--expect-quant", "Q4_K_M", "--out", str(out)))
    assert str(cut) in line and "truncated" in line and "fetch it again" in line
    assert not out.exists()


def test_a_file_that_is_not_gguf_is_rejected(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_text("<html>404 Not Found</html>\n")
    line = one_error_line(slmbench("models", "verify", str(bad)))
    assert str(bad) in line and "not a readable GGUF" in line


def test_sha256_mismatch_and_short_context_are_named(tiny_model, tmp_path):
    line = one_error_line(slmbench("models", "verify", str(tiny_model), "--sha256", "0" * 64))
    assert f"sha256 {TINY_SHA256} differs" in line
    line = one_error_line(slmbench("models", "verify", str(tiny_model), "--min-context", "1000000"))
    assert "trained context 32768 < inference.n_ctx 1000000" in line


def test_a_missing_file_says_how_to_get_it(tmp_path):
    line = one_error_line(slmbench("models", "verify", str(tmp_path / "absent.gguf")))
    assert "absent.gguf does not exist" in line and "fetch_model" in line


class FakeHub:
    """Serves one file at /<repo>/resolve/main/<filename> as the Hub does (commit and ETag headers, ranges).
    `cut_first` ends the first transfer a third of the way through, as a dropped connection would."""

    def __init__(self, repo: str, filename: str, data: bytes, cut_first: bool = False):
        self.data, self.requests, self.cut_pending = data, [], cut_first
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _headers(self):
                hub.requests.append((self.command, self.path, self.headers.get("Authorization")))
                if not self.path.startswith(f"/{repo}/resolve/main/{filename}"):
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("X-Repo-Commit", "a" * 40)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                return start

            def do_HEAD(self):
                self._headers()

            def do_GET(self):
                start = self._headers()
                if start is None:
                    return
                if hub.cut_pending:
                    hub.cut_pending = False
                    self.wfile.write(data[start:start + len(data) // 3])
                    self.close_connection = True
                    return
                self.wfile.write(data[start:])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub_env(tmp_path, clean_env):
    return {"HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_DISABLE_TELEMETRY": "1"}


def fetch(target: Path, env: dict, repo="me/tiny-GGUF", filename="tiny.gguf") -> subprocess.CompletedProcess:
    return slmbench("models", "fetch", "--out", str(target), "--kind", "huggingface", "--repo", repo,
                    "--filename", filename, env=env)


@pytest.mark.parametrize("cut_first", [False, True], ids=["whole", "connection-dropped"])
def test_fetch_downloads_into_models_dir_with_the_token_from_the_environment(tmp_path, hub_env, cut_first):
    data = os.urandom(3_000_000)
    hub = FakeHub("me/tiny-GGUF", "tiny.gguf", data, cut_first=cut_first)
    try:
        target = tmp_path / "models" / "renamed.gguf"
        proc = fetch(target, {**hub_env, "HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_test_token"})
    finally:
        hub.close()
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == data
    assert not (tmp_path / "models" / "tiny.gguf").exists()  # one copy, under the configured name
    assert not (tmp_path / "hf_home" / "hub").exists()  # and none in the Hugging Face cache
    gets = [r for r in hub.requests if r[0] == "GET"]
    assert len(gets) == (2 if cut_first else 1)
    assert all(auth == "Bearer hf_test_token" for _, _, auth in hub.requests)


def test_fetch_offline_without_the_file_is_one_line_and_leaves_nothing(tmp_path, hub_env):
    target = tmp_path / "models" / "tiny.gguf"
    proc = fetch(target, {**hub_env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"})
    line = one_error_line(proc)
    assert "could not download me/tiny-GGUF/tiny.gguf" in line and f"copy the file to {target}" in line
    assert not target.exists()


def test_fetch_of_a_missing_repo_file_names_it(tmp_path, hub_env):
    hub = FakeHub("me/tiny-GGUF", "tiny.gguf", b"x" * 100)
    try:
        proc = fetch(tmp_path / "models" / "m.gguf", {**hub_env, "HF_ENDPOINT": hub.url}, filename="other.gguf")
    finally:
        hub.close()
    line = one_error_line(proc)
    assert "me/tiny-GGUF/other.gguf" in line
    assert not (tmp_path / "models" / "m.gguf").exists()
