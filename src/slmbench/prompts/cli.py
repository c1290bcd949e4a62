"""`slmbench prompts ...`: convert a spreadsheet, generate levels, report token lengths, fetch question.jsonl."""

from __future__ import annotations

from ..errors import UserError


def _mapping(pairs):
    mapping = {}
    for pair in pairs or []:
        field, sep, header = pair.partition("=")
        if not sep or not field or not header:
            raise UserError(f"--map {pair!r}: expected FIELD=HEADER, e.g. --map prompt=Texto")
        mapping[field.strip()] = header.strip()
    return mapping


def _convert(args) -> int:
    from .convert import convert_spreadsheet

    paths = convert_spreadsheet(args.excel, args.outdir, split=args.split, sheet=args.sheet, mapping=_mapping(args.map),
                                questions_file=args.questions, levels=args.levels, categories=args.categories)
    for path in paths:
        print(path)
    return 0


def _generate(args) -> int:
    from .generate import generate_spreadsheet

    llm = None
    if args.mode == "llm":
        import json

        if not args.llm_settings:
            raise UserError("--mode llm needs --llm-settings JSON (the endpoint or GGUF that writes; the workflow "
                            "passes the config's judge section)")
        llm = dict(json.loads(args.llm_settings), max_tokens=400, temperature=0.0)
    generate_spreadsheet(args.questions, args.out, levels=args.levels, categories=args.categories, mode=args.mode,
                         llm=llm)
    return 0


def _tokens(args) -> int:
    from .tokens import token_report

    token_report(args.csv, args.out, args.encoding, strict=args.strict)
    return 0


def _fetch(args) -> int:
    from .fetch import fetch_file

    fetch_file(args.url, args.out, args.sha256 or None)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("prompts", help="prompt spreadsheet intake, level generation, token report")
    sub = parser.add_subparsers(dest="prompts_command", required=True)
    levels = ["L0", "L1", "L2", "L3", "P"]

    convert = sub.add_parser("convert", help="xlsx (wide or long layout) -> <category>_prompts_hierarchical.csv")
    convert.add_argument("--excel", required=True)
    convert.add_argument("--outdir", required=True)
    convert.add_argument("--split", action="store_true", help="one CSV per category (the workflow's layout)")
    convert.add_argument("--sheet")
    convert.add_argument("--map", action="append", metavar="FIELD=HEADER",
                         help="read FIELD (question_id, category, level, prompt, L0...) from column HEADER")
    convert.add_argument("--questions", help="question.jsonl: checks ids, fills missing categories")
    convert.add_argument("--levels", nargs="+", default=levels)
    convert.add_argument("--categories", nargs="+")
    convert.set_defaults(func=_convert)

    generate = sub.add_parser("generate", help="question.jsonl -> prompt spreadsheet with every level")
    generate.add_argument("--questions", required=True)
    generate.add_argument("--out", required=True)
    generate.add_argument("--mode", choices=["template", "llm"], default="template")
    generate.add_argument("--levels", nargs="+", default=levels)
    generate.add_argument("--llm-settings", dest="llm_settings",
                          help="llm mode: JSON like the config's judge section (backend, model, base_url, ...)")
    generate.add_argument("--categories", nargs="+")
    generate.set_defaults(func=_generate)

    tokens = sub.add_parser("tokens", help="token lengths per question and level, checked against the ranges")
    tokens.add_argument("csv", nargs="+")
    tokens.add_argument("--out", required=True)
    tokens.add_argument("--encoding", default="o200k_base")
    tokens.add_argument("--strict", action="store_true")
    tokens.set_defaults(func=_tokens)

    fetch = sub.add_parser("fetch", help="download a file (question.jsonl) and check its sha256")
    fetch.add_argument("--url", required=True)
    fetch.add_argument("--out", required=True)
    fetch.add_argument("--sha256")
    fetch.set_defaults(func=_fetch)
