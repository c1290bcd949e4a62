"""The doctor's checks of the study's own inputs, the first things a run stops on: the prompt spreadsheet
(prompts.source: spreadsheet) and the question file, each read with the reader the run uses, so a problem is
the same one line here as at hour zero of the run, with what to do about it."""

from __future__ import annotations

from pathlib import Path
from typing import List

from .config import DEMO_CONFIG, EXAMPLE_SPREADSHEET
from .doctor import Check
from .errors import UserError


def check_questions(config: dict) -> List[Check]:
    from .questions import read_questions

    questions = config["questions"]
    path = questions["file"]
    if not Path(path).is_file():
        if questions.get("url"):
            return [Check("questions", "info", f"{path} is not there yet; the run downloads it from questions.url "
                                               f"first (offline: put the file there)")]
        return [Check("questions", "fail", f"{path} (questions.file) is missing and questions.url is null: put the "
                                           f"question file there")]
    try:
        found = read_questions(path)
    except UserError as exc:
        return [Check("questions", "fail", str(exc))]
    wanted = set(config["categories"])
    per_category = {c: sum(q.get("category") == c for q in found.values()) for c in config["categories"]}
    empty = sorted(c for c, n in per_category.items() if not n)
    if empty and config["prompts"]["source"] == "generate":
        return [Check("questions", "fail", f"{path}: no question of the categories {', '.join(empty)}: remove them "
                                           f"from the config's categories or add questions")]
    used = sum(per_category.values())
    return [Check("questions", "ok", f"{path}: {len(found)} questions, {used} of them in the study's "
                                     f"{len(wanted)} categories")]


def check_spreadsheet(config: dict) -> List[Check]:
    prompts = config["prompts"]
    if prompts["source"] != "spreadsheet":
        return [Check("prompt spreadsheet", "info", f"none needed: prompts.source is {prompts['source']} (the levels "
                                                    f"are written from questions.file)")]
    sheet = prompts["spreadsheet"]
    if not Path(sheet).is_file():
        return [Check("prompt spreadsheet", "fail", f"{sheet} (prompts.spreadsheet) is missing: put your prompt levels "
                                                    f"there (the format: {EXAMPLE_SPREADSHEET}), or set "
                                                    f"prompts.source: generate; the demo needs none: --configfile "
                                                    f"{DEMO_CONFIG}")]
    from .prompts.convert import read_prompts

    questions = config["questions"]["file"]
    try:
        rows = read_prompts(sheet, sheet=prompts.get("sheet"), mapping=prompts.get("columns"),
                            questions_file=questions if Path(questions).is_file() else None, levels=config["levels"],
                            categories=config["categories"], variants=int(prompts.get("variants") or 1))
    except UserError as exc:
        return [Check("prompt spreadsheet", "fail", str(exc))]
    if not rows:
        return [Check("prompt spreadsheet", "fail", f"{sheet}: no prompts of the study's categories "
                                                    f"({', '.join(config['categories'])})")]
    qids = {r.question_id for r in rows}
    return [Check("prompt spreadsheet", "ok", f"{sheet}: {len(qids)} questions x {len(config['levels'])} levels "
                                              f"({len(rows)} prompts)")]


def check_inputs(config: dict) -> List[Check]:
    return check_spreadsheet(config) + check_questions(config)
