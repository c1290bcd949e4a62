"""`slmbench judge --questions Q --runs R --out S [...]`: judge a runs file (a shard or the merged runs)."""

from __future__ import annotations

import sys

import yaml


def _judge(args) -> int:
    from ..records import read_jsonl
    from .runner import judge_records, reference_answers, write_scores

    settings = {"backend": "openai", "model": "gpt-4o-2024-08-06", "base_url": None, "api_key_env": "OPENAI_API_KEY",
                "temperature": 0.0, "max_tokens": 512, "timeout_s": 60, "cache": "results/judge_cache.sqlite",
                "concurrency": 4, "repeats": 1, "sleep_s": 0}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            settings.update(yaml.safe_load(fh)["judge"])
    overrides = {"max_cost_usd": args.max_cost, "base_url": args.base_url, "concurrency": args.concurrency,
                 "repeats": args.repeats, "sleep_s": args.sleep, "backend": args.backend, "model_path": args.model_path,
                 "chat_format": args.chat_format, "cache": args.cache}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    questions = {}
    for item in read_jsonl(args.questions):  # MT-Bench question.jsonl: the first turn is the canonical question
        questions[int(item["question_id"])] = item["turns"][0]
    records = list(read_jsonl(args.runs))
    references = reference_answers(args.references)
    rows = []
    for model in args.model or [settings["model"]]:  # several judges: each verdict set, then their agreement
        rows += judge_records(records, questions, references, {**settings, "model": model}, use_cache=not args.no_cache)
    write_scores(rows, args.out)
    from .agreement import agreement
    from .cost import actual_usd

    spent = actual_usd(rows, settings.get("price_per_mtok"))
    tokens = sum(int(r.get("judge_prompt_tokens") or 0) + int(r.get("judge_completion_tokens") or 0) for r in rows)
    print(f"judge usage: {tokens} tokens" + (f", ${spent:.2f}" if spent is not None else ""), file=sys.stderr)
    for name, value in agreement(rows).items():
        print(f"agreement {name}: {value:.3f}", file=sys.stderr)
    ok = sum(r.get("judge_status") == "ok" for r in rows)
    print(f"{args.out}: {len(rows)} rows, {ok} ok, {sum(r.get('judge_status') == 'parse_error' for r in rows)} "
          f"parse errors, {sum(r.get('judge_status') == 'run_error' for r in rows)} run errors", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("judge", help="score answers with an LLM judge (cached, blind)")
    parser.add_argument("--questions", required=True, help="question.jsonl (the canonical L0 questions)")
    parser.add_argument("--runs", required=True, help="runs JSONL (a shard or runs_llamacpp.jsonl)")
    parser.add_argument("--out", required=True, help="scores CSV")
    parser.add_argument("--references", help="reference answers jsonl (MT-Bench format)")
    parser.add_argument("--config", help="take the judge section of this config file")
    parser.add_argument("--backend", choices=["openai", "llamacpp"])
    parser.add_argument("--base-url", dest="base_url")
    parser.add_argument("--model", action="append", help="judge model; repeat the flag to compare several judges")
    parser.add_argument("--model-path", dest="model_path", help="llamacpp backend: the GGUF")
    parser.add_argument("--chat-format", dest="chat_format")
    parser.add_argument("--cache", help="sqlite verdict cache")
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--max-cost", dest="max_cost", type=float, help="stop before starting if the estimate exceeds USD")
    parser.add_argument("--sleep", type=float, help="seconds to wait after each request (rate limits)")
    parser.add_argument("--no-cache", dest="no_cache", action="store_true", help="ask again even if cached")
    parser.set_defaults(func=_judge)
