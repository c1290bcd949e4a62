"""`slmbench report`: the six workbooks, plots, summary.md and exports; `report export` and `report validate`.

    slmbench report --runs R --scores S --outdir D [--config C] [--only workbooks plots summary exports]
    slmbench report export --runs R [--scores S] --outdir D/exported_responses [--csv] [--txt] [--summary] [--all]
    slmbench report validate --runs R --scores S --out D/validation.txt [--config C] [--prompts CSV...] [--strict]

The flags --runs/--scores/--outdir are those of the original aggregate script. Nothing heavy is imported here.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from ..layout import RUNS_FILE, SCORES_FILE

PARTS = ("workbooks", "plots", "summary", "exports")


def _read_config(path) -> dict:
    from ..config import load_config

    return load_config([path])


def _settings(args) -> dict:
    from .settings import settings_from_config

    settings: dict = {}
    if args.config:
        settings = settings_from_config(_read_config(args.config), args.model_facts or ())
    elif args.model_facts:
        settings["model_facts"] = list(args.model_facts)
    if args.settings:
        try:
            settings.update(json.loads(args.settings))
        except (ValueError, TypeError) as exc:
            raise UserError(f"--settings: not a JSON object ({exc}); e.g. '{{\"demo_note\": null}}'") from None
    if args.demo_note is not None:
        settings["demo_note"] = args.demo_note or None
    if args.levels:
        settings["levels"] = list(args.levels)
    return settings


def _add_settings_flags(parser) -> None:
    parser.add_argument("--config", help="workflow config (e.g. config/config.yaml): levels, judge.demo_note, report.*")
    parser.add_argument("--settings", help="JSON object of report settings overriding the config's")
    parser.add_argument("--demo-note", help="sentence printed in every report about the scores ('' for none)")
    parser.add_argument("--levels", nargs="+", help="level order; the first is the baseline (default: as in the runs)")
    parser.add_argument("--model-facts", nargs="+",
                        help="<results>/models/<model>.json files (model sizes for the roofline)")


def _in_study(target_of, purpose: str = "report"):
    """A command that writes into a study holds it meanwhile (slmbench.locks); `target_of(args)` is what it writes."""
    def wrap(command):
        def locked(args) -> int:
            from ..locks import writing_into_study

            target = target_of(args)
            if not target:
                return command(args)
            with writing_into_study(target, purpose):
                return command(args)
        return locked
    return wrap


@_in_study(lambda args: args.outdir and str(Path(args.outdir) / "report"))
def _cmd_report(args) -> int:
    missing = [flag for flag, value in (("--runs", args.runs), ("--scores", args.scores), ("--outdir", args.outdir))
               if not value]
    if missing:
        args.report_parser.error(f"the following arguments are required: {', '.join(missing)}")
    from .build import build_reports

    written = build_reports(args.runs, args.scores, args.outdir, _settings(args), args.only or PARTS)
    print(f"slmbench report: wrote {len(written)} outputs under {args.outdir}")
    return 0


@_in_study(lambda args: args.outdir)
def _cmd_export(args) -> int:
    from .export import PARTS as EXPORT_PARTS
    from .export import export_responses

    parts = [p for p in EXPORT_PARTS if getattr(args, p)] if not args.all else list(EXPORT_PARTS)
    export_responses(args.runs, args.scores, args.outdir, _settings(args), parts or EXPORT_PARTS)
    print(f"slmbench report export: wrote {', '.join(parts or EXPORT_PARTS)} under {args.outdir}")
    return 0


def _expected(args) -> dict:
    expected = {"models": args.models, "levels": args.levels, "categories": args.categories, "question_ids": None,
                "prompt_csvs": args.prompts}
    if args.config:
        from ..layout import StudyLayout

        config = _read_config(args.config)
        expected["models"] = expected["models"] or [m["id"] for m in config["models"]]
        expected["levels"] = expected["levels"] or list(config["levels"])
        expected["categories"] = expected["categories"] or list(config["categories"])
        if not args.prompts:
            layout = StudyLayout.from_config(config)
            paths = [Path(layout.prompts_csv(c)) for c in expected["categories"]]
            expected["prompt_csvs"] = [str(p) for p in paths if p.exists()] or None
    return expected


@_in_study(lambda args: args.out)
def _cmd_validate(args) -> int:
    from .validate import validate_results

    checks = validate_results(args.runs, args.scores, _expected(args), args.out, strict=args.strict)
    failed = sum(c.status == "FAIL" for c in checks)
    print(f"slmbench report validate: {failed} failed checks; see {args.out}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="workbooks, plots, summary and exports from merged runs and scores",
        description="Build the six workbooks, plots/ (PDF + PNG), summary.md, summary_by_level.csv and "
                    "exported_responses/ under --outdir.")
    parser.add_argument("--runs", help=f"merged runs JSONL ({RUNS_FILE})")
    parser.add_argument("--scores", help=f"merged scores CSV ({SCORES_FILE})")
    parser.add_argument("--outdir", help="output directory (results/)")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="build only these parts (default: all)")
    _add_settings_flags(parser)
    parser.set_defaults(func=_cmd_report, report_parser=parser)
    sub = parser.add_subparsers(dest="report_command", metavar="{export,validate}")

    export = sub.add_parser("export", help="all_responses.csv, summary_report.txt, responses_by_model/")
    export.add_argument("--runs", required=True, help=f"merged runs JSONL ({RUNS_FILE})")
    export.add_argument("--scores", help="merged scores CSV (optional: without it every answer says 'no score')")
    export.add_argument("--outdir", required=True, help="e.g. results/exported_responses")
    for part, text in (("csv", "all_responses.csv"), ("txt", "responses_by_model/<model>/Q081_L0.txt"),
                       ("summary", "summary_report.txt")):
        export.add_argument(f"--{part}", action="store_true", help=f"write {text}")
    export.add_argument("--all", action="store_true", help="write everything (also the default with no flag)")
    _add_settings_flags(export)
    export.set_defaults(func=_cmd_export)

    validate = sub.add_parser("validate", help="the study's integrity checks -> validation.txt")
    validate.add_argument("--runs", required=True, help=f"merged runs JSONL ({RUNS_FILE})")
    validate.add_argument("--scores", required=True, help=f"merged scores CSV ({SCORES_FILE})")
    validate.add_argument("--out", required=True, help="e.g. results/validation.txt")
    validate.add_argument("--config", help="take models, levels, categories and prompt CSVs from this config")
    validate.add_argument("--models", nargs="+", help="the expected model ids (default: the --config's models)")
    validate.add_argument("--levels", nargs="+", help="in order: mean prompt tokens must grow along it")
    validate.add_argument("--categories", nargs="+",
                          help="the expected categories (default: the --config's categories)")
    validate.add_argument("--prompts", nargs="+", help="prompt CSVs: the expected question ids")
    validate.add_argument("--strict", action="store_true", help="exit with status 2 when a check fails")
    validate.set_defaults(func=_cmd_validate)
