"""`slmbench judge --questions Q --runs R --out S [...]`: judge a runs file (a shard or the merged runs) with
the same code as the per-shard judge rule; prints the usage, cost and agreement at the end."""

from __future__ import annotations

import sys

from ..layout import RUNS_FILE

# Without --config the judge is the study's (config/config.yaml, merged over the demo like Snakemake does):
# the config files are the one home of every default.
STUDY_CONFIG = "config/config.yaml"


def settings_from(args) -> dict:
    from ..config import load_config

    settings = dict(load_config([args.config or STUDY_CONFIG])["judge"])
    settings.pop("demo_note", None)  # for the reports only
    overrides = {"max_cost_usd": args.max_cost, "base_url": args.base_url, "concurrency": args.concurrency,
                 "repeats": args.repeats, "sleep_s": args.sleep, "backend": args.backend, "model_path": args.model_path,
                 "chat_format": args.chat_format, "cache": args.cache, "rate_limit_rps": args.rate_limit,
                 "repeat_fraction": getattr(args, "repeat_fraction", None)}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if args.model:  # several --model: the first is the judge, the others join it as judge.judges
        if args.model[0] != settings["model"]:
            settings["price_per_mtok"] = None  # the configured price is the configured model's: unknown for this one
        settings["model"] = args.model[0]
        # the same endpoint, named by the same command: its key too (a configured extra judge names its own)
        settings["judges"] = [{"model": m, "api_key_env": settings["api_key_env"]} for m in args.model[1:]]
    if args.price:
        settings["price_per_mtok"] = {"input": args.price[0], "output": args.price[1]}
    return settings


def _judge(args) -> int:
    from ..locks import writing_into_study

    with writing_into_study(args.out, "judge"):  # a study another run holds is refused (slmbench.locks)
        return _judge_unlocked(args)


def _judge_unlocked(args) -> int:
    from dataclasses import asdict

    from ..questions import first_turn, read_questions
    from ..records import read_run_records
    from ..scores import write_score_rows
    from .agreement import agreement
    from .runner import judge_records, reference_answers

    settings = settings_from(args)
    questions = {qid: first_turn(item) for qid, item in read_questions(args.questions).items()}
    records = [asdict(r) for r in read_run_records(args.runs) if r.repeat == 0]  # timing repeats: not judged
    references = reference_answers(args.references, args.questions, args.references_override)
    if args.action == "audit":
        from .audit import run_audit

        return run_audit(records, questions, references, settings, args.out, args.sample)
    rows = judge_records(records, questions, references, settings, use_cache=not args.no_cache)
    write_score_rows(rows, args.out)
    for row in agreement(rows):
        if row.get("value") is not None:
            pair = f"{row['judge']}|{row['other_judge']}" if row.get("other_judge") else row["judge"]
            print(f"agreement {row['measure']}[{pair}] on {row['score']}: {row['value']:.3f} "
                  f"({row['n_answers']} answers)", file=sys.stderr)
    print(f"{args.out}: {len(rows)} rows, {sum(r.get('judge_status') == 'ok' for r in rows)} ok, "
          f"{sum(r.get('judge_status') == 'parse_error' for r in rows)} parse errors, "
          f"{sum(r.get('judge_status') == 'run_error' for r in rows)} failed runs", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("judge", help="score answers with an LLM judge (cached, blind)",
                                   description="Score answers with an LLM judge; `slmbench judge audit ...` judges a "
                                   "sample of answers and perturbed copies of them (padded, an injected '10/10', the "
                                   "final result changed) and reports how far the scores move.")
    parser.add_argument("action", nargs="?", choices=["audit"],
                        help="audit: how far padding, an injected instruction and a changed result move the scores "
                        "(--out is then the audit CSV)")
    parser.add_argument("--sample", type=int, default=5, help="audit: answers to perturb (default 5)")
    parser.add_argument("--questions", required=True, help="question.jsonl (the canonical L0 questions)")
    parser.add_argument("--runs", required=True, help=f"runs JSONL (a shard or {RUNS_FILE})")
    parser.add_argument("--out", required=True, help="scores CSV")
    parser.add_argument("--references", help="reference answers jsonl (MT-Bench format), used only for questions "
                        "without their own `reference` in --questions")
    parser.add_argument("--references-override", dest="references_override",
                        help="reference answers jsonl (MT-Bench format) that replace any other reference of the "
                        "questions it names (your own corrections)")
    parser.add_argument("--config", help="config file whose judge section to use, merged over config/demo.yaml as "
                        "Snakemake does (default: config/config.yaml, the study's judge)")
    parser.add_argument("--backend", choices=["openai", "llamacpp"])
    parser.add_argument("--base-url", dest="base_url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--model", action="append", help="judge model; repeat the flag to compare several judges")
    parser.add_argument("--model-path", dest="model_path", help="llamacpp backend: the GGUF")
    parser.add_argument("--chat-format", dest="chat_format")
    parser.add_argument("--cache", help="sqlite verdict cache (also the spending ledger behind --max-cost)")
    parser.add_argument("--concurrency", type=int, help="requests in flight at once")
    parser.add_argument("--rate-limit", dest="rate_limit", type=float, help="at most this many requests per second")
    parser.add_argument("--repeats", type=int, help="verdicts per answer (agreement across repeats)")
    parser.add_argument("--repeat-fraction", dest="repeat_fraction", type=float,
                        help="share of answers judged once more (seeded, stratified by model x level): judge noise")
    parser.add_argument("--price", type=float, nargs=2, metavar=("INPUT", "OUTPUT"),
                        help="USD per million prompt and completion tokens, for the estimate and --max-cost")
    parser.add_argument("--max-cost", dest="max_cost", type=float,
                        help="stop before sending anything if spent + estimated USD would pass this")
    parser.add_argument("--sleep", type=float, help="seconds to wait after each request (rate limits)")
    parser.add_argument("--no-cache", dest="no_cache", action="store_true", help="ask again even if cached")
    parser.set_defaults(func=_judge)
