"""`slmbench redo`: mark chosen work for redoing, so the study's same command does it again.

Snakemake does not rebuild a missing intermediate while the files made from it exist, so deleting a shard
alone redoes nothing. This deletes each chosen shard AND everything derived from it: the shard's scores, the
merged runs and scores, the judge agreement and every report (workbooks, plots, summary, validation, exports,
the viewer). The next run then redoes exactly the chosen shards, judges them, and rebuilds the reports; the
other shards and their verdicts (cached) are kept. `--dry-run` lists what would be deleted.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable, List, Sequence

from .errors import UserError
from .layout import PLOTS, WORKBOOKS, StudyLayout, shard_keys
from .records import read_jsonl

PLOT_EXTENSIONS = ("png", "svg", "pdf")


def _shard_runs(path: str) -> List[dict]:
    try:
        return list(read_jsonl(path))
    except (OSError, ValueError, UnicodeDecodeError):
        return []  # an unreadable shard is quarantined by the workflow itself


def choose_shards(config: dict, shards: Sequence[str] = (), errors: bool = False, no_energy: bool = False,
                  models: Sequence[str] = (), levels: Sequence[str] = (),
                  categories: Sequence[str] = (), modes: Sequence[str] = ()) -> List[tuple]:
    """The (model, level, category) shards to redo, (model, level, category, mode) in a study of several power
    modes. --shard names shards (without the mode: every mode of it); --errors and --no-energy pick the existing
    shards with such runs; --model/--level/--category/--mode narrow those, or alone pick every shard they match."""
    from .power_modes import study_modes

    layout = StudyLayout.from_config(config)
    known = {"model": [m["id"] for m in config["models"]], "level": list(config["levels"]),
             "category": list(config["categories"]), "mode": study_modes(config["jetson"])}
    for kind, given in (("model", models), ("level", levels), ("category", categories), ("mode", modes)):
        for value in given:
            if value not in known[kind]:
                has = f"the config has: {', '.join(known[kind])}" if known[kind] else "it has one power mode"
                raise UserError(f"--{kind} {value}: not a {kind} of this study; {has}")
    every = shard_keys(known["model"], known["level"], known["category"], known["mode"])
    form = "MODEL/LEVEL/CATEGORY" + ("[/MODE]" if known["mode"] else "")
    named = []
    for text in shards:
        parts = tuple(text.strip("/").split("/"))
        picked = [s for s in every if s == parts or (known["mode"] and s[:3] == parts)]
        if not picked:
            raise UserError(f"--shard {text}: not a shard of this study; write {form}, e.g. "
                            f"{'/'.join(every[0])}" if every else f"--shard {text}: the study has no shards")
        named += picked

    def matches(shard: tuple) -> bool:
        return ((not models or shard[0] in models) and (not levels or shard[1] in levels)
                and (not categories or shard[2] in categories) and (not modes or shard[3] in modes))

    picked = set(named)
    if errors or no_energy:
        for shard in filter(matches, every):
            runs = _shard_runs(layout.shard(*shard))
            if errors and any(r.get("status") != "ok" for r in runs):
                picked.add(shard)
            if no_energy and any(r.get("status") == "ok" and r.get("energy_j") is None for r in runs):
                picked.add(shard)
    elif not named:
        if not (models or levels or categories or modes):
            raise UserError("choose what to redo: --shard MODEL/LEVEL/CATEGORY, --errors, --no-energy, --model, "
                            "--level, --category or --mode (see slmbench redo --help)")
        picked = set(filter(matches, every))
    return [s for s in every if s in picked]


def derived_outputs(layout: StudyLayout) -> List[str]:
    """What every shard feeds: the merged files and all reports."""
    return ([layout.runs, layout.scores_merged, layout.judge_agreement]
            + [layout.workbook(name) for name in WORKBOOKS]
            + [layout.plot(name, ext) for name in PLOTS for ext in PLOT_EXTENSIONS]
            + [layout.summary, layout.validation, layout.exported_dir, layout.index_html])


def files_to_delete(config: dict, chosen: Iterable[tuple]) -> List[str]:
    """The existing files (and the exports directory) to delete for the chosen shards, in a stable order."""
    layout = StudyLayout.from_config(config)
    chosen = list(chosen)
    if not chosen:
        return []
    # a (model, level, category)'s scores hold every power mode's verdicts: redoing one mode rejudges the
    # others from the cache, at no cost
    paths = list(dict.fromkeys(p for shard in chosen for p in (layout.shard(*shard), layout.scores(*shard[:3]))))
    paths += derived_outputs(layout)
    return [p for p in paths if Path(p).exists()]


def delete(paths: Iterable[str]) -> None:
    for path in paths:
        target = Path(path)
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def _nothing_found(layout: StudyLayout, chosen: Sequence[tuple]) -> UserError:
    """No file of the chosen shards exists: a wrong working directory or config, never "0 files deleted"."""
    where = Path(layout.results_dir).resolve()
    shards = f" ({', '.join('/'.join(s) for s in chosen[:3])}{' ...' if len(chosen) > 3 else ''})" if chosen else ""
    return UserError(f"slmbench redo: nothing found at {where}{shards}: no shard of this study is there; check the "
                     f"working directory and --configfile/--profile (results_dir)")


def _cmd_redo(args) -> int:
    from .locks import claim_study, release_study, study_lock_holder
    from .profile import load_study_config

    config, _ = load_study_config(args.configfile, args.profile, args.config_items)
    layout = StudyLayout.from_config(config)
    chosen = choose_shards(config, args.shard or (), args.errors, args.no_energy, args.model or (),
                           args.level or (), args.category or (), args.mode or ())
    paths = files_to_delete(config, chosen)
    if not paths:
        from .power_modes import study_modes

        every = [layout.shard(*key) for key in shard_keys([m["id"] for m in config["models"]], config["levels"],
                                                          config["categories"], study_modes(config["jetson"]))]
        if chosen or not any(Path(p).exists() for p in every):
            raise _nothing_found(layout, chosen)
        print("slmbench redo: no shard matches; nothing to do")
        return 0
    names = ", ".join("/".join(s) for s in chosen)
    if args.dry_run:
        holder = study_lock_holder(layout.results_dir)
        print(f"slmbench redo (dry run): {len(chosen)} shard(s) to redo: {names}"
              + (f" (refused now: {holder.describe()} is working on the study)" if holder else ""))
        print("\n".join(f"would delete {p}" for p in paths))
        return 0
    # held while deleting: a run that is going is never cut under, and none can start halfway through
    claim_study(layout.results_dir, purpose="redo", doing="redo")
    try:
        delete(paths)
    finally:
        release_study(layout.results_dir)
    print(f"slmbench redo: {len(chosen)} shard(s) marked for redoing ({names}); deleted {len(paths)} file(s). "
          f"Run the same command as before to redo them (cached verdicts of unchanged answers are reused).")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("redo", help="mark shards for redoing (deletes them and what was made from them); "
                                                "then run the same command again")
    parser.add_argument("--shard", action="append", metavar="MODEL/LEVEL/CATEGORY[/MODE]",
                        help="this shard (repeatable); with several power modes, /MODE picks one of them")
    parser.add_argument("--errors", action="store_true", help="every shard with a run recorded as an error")
    parser.add_argument("--no-energy", dest="no_energy", action="store_true",
                        help="every shard with an ok run that has no energy (e.g. a power sensor dropout)")
    parser.add_argument("--model", action="append", metavar="ID",
                        help="only this model's shards (repeatable); alone: all of them")
    parser.add_argument("--level", action="append", metavar="LEVEL",
                        help="only this level's shards (repeatable); alone: all of them")
    parser.add_argument("--category", action="append", metavar="CATEGORY",
                        help="only this category's shards (repeatable); alone: all of them")
    parser.add_argument("--mode", action="append", metavar="MODE",
                        help="only this power mode's shards (jetson.power_modes; repeatable); alone: all of them")
    parser.add_argument("-n", "--dry-run", dest="dry_run", action="store_true",
                        help="list what would be deleted, delete nothing")
    from .profile import add_study_config_arguments

    add_study_config_arguments(parser)
    parser.set_defaults(func=_cmd_redo)
