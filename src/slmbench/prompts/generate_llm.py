"""Prompt levels written by a model for each question (prompts.generate_mode: llm), cumulative like the
template levels (slmbench.levels): L1 = L0 + a clarification, L2 = L1 + step guidance, L3 = L2 + a worked
example of a similar task, P = L3 + padding; the controls P1..P3 = L0 + padding as long as what L1..L3 add.

Each addition is asked for with the prompt so far shown (level_requests.py, which states slmbench.levels'
rules), and checked before it is accepted with the audit's own checks (addition_checks.py: band by the study's
encoding, no final value of the reference answer, no demand for visible extra output, no length instruction,
nothing that hides the reasoning, no value the question does not contain in a clarification or guidance, no
quotation of the question cut short, no worked example another question already has, unlabelled off-topic
prose for padding, not empty). A rejected addition is asked for again with
the reasons, up to `max_attempts` requests; then the best attempt is kept, one warning line per problem
names the question and level, and the prompt audit (before inference) flags it. Every accepted or kept
text is cached under (generator version, client identity, level, variant, the request itself, which holds
the base text), and a cached text is checked again without a request. The writer spends from the study's
budget: the cache's ledger and judge.max_cost_usd, checked once for all questions before anything is sent.
Temperature is 0.

Questions are written concurrently (`concurrency` requests in flight, prompts.generator.concurrency; an
in-process llama.cpp writer always one at a time): each question's levels are a chain (L2 is asked for with
L1 shown), but different questions do not wait for one another. The cache and its ledger are shared by the
worker threads under the cache's own lock, so every text and what it cost are recorded once; the worked
examples accepted so far are shared too, so that a second question's example is checked against the first's.
The sheet does not depend on the order in which the questions finish: each text is cached under its own
request, and the rows are written in question order.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Dict, List, Optional, Tuple

from .. import levels as design
from ..errors import UserError
from ..llm.cache import ContentCache, content_key
from ..llm.cost import check_budget, estimate_usd, usage_usd
from ..llm.tokens import OFFLINE_ENCODING, get_encoding
from ..questions import first_turn
from .addition_checks import addition_problems
from .level_requests import aim, follow_up, request

GENERATOR_VERSION = "slmbench-levels-llm-2"  # 2: cumulative levels, question-specific requests, checks
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAX_TOKENS = 400  # enough for the longest band (+250 tokens) with room for a model's preamble
DEFAULT_CONCURRENCY = 8  # prompts.generator.concurrency
WRITABLE = tuple(name for name in design.LEVELS if name != "L0")  # in writing order: bases before what builds on them


def levels_to_write(levels) -> List[str]:
    """The levels a study asks for and every level they build on or match (L3 needs L1 and L2 written), in
    writing order."""
    unknown = [lvl for lvl in levels if lvl not in design.LEVELS]
    if unknown:
        raise UserError(f"levels {', '.join(unknown)} are not in the study's level design, so the llm generator "
                        f"cannot write them (known: {' '.join(design.LEVELS)})")
    needed, todo = set(), list(levels)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += [other for other in (design.base_of(name), design.level(name).matches) if other]
    return [name for name in WRITABLE if name in needed]


class LevelWriter:
    """Writes one question's levels at a time; `requests` counts model calls."""

    def __init__(self, settings: dict, client=None, encoding: str = OFFLINE_ENCODING,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, max_tokens: int = DEFAULT_MAX_TOKENS,
                 concurrency: int = DEFAULT_CONCURRENCY):
        if max_attempts < 1:
            raise UserError(f"--max-attempts {max_attempts}: needs at least 1")
        if concurrency < 1:
            raise UserError(f"prompts.generator.concurrency {concurrency}: needs at least 1")
        # an in-process model is one object on one CPU or GPU: its calls are not made concurrently
        self.concurrency = 1 if settings.get("backend") == "llamacpp" else concurrency
        self.lock = threading.Lock()  # the request count and the accepted examples, shared by the worker threads
        self.examples: Dict[int, str] = {}  # question -> its accepted worked example (other questions check it)
        self.stop = threading.Event()  # set when one question fails: the others' retries give up
        self.settings = {**settings, "temperature": 0.0, "max_tokens": max_tokens}
        self._client = client
        self.enc = get_encoding(encoding)
        self.max_attempts = max_attempts
        self.max_tokens = max_tokens
        self.cache = ContentCache(settings["cache"]) if settings.get("cache") else None
        self.requests = 0
        self.prices = settings.get("price_per_mtok")
        self.spender = f"prompts:{settings.get('model')}"  # the ledger's name for what the writer spent
        self.share = 0.0  # of the reservation, handed back with each text stored
        self._identity: Optional[str] = None

    @property
    def client(self):
        """Made on first use: a rerun served from the cache needs no endpoint, key or model file."""
        if self._client is None:
            from ..llm import make_client

            self._client = make_client(self.settings)
        return self._client

    @property
    def identity(self) -> str:
        """Backend, model, endpoint or GGUF, temperature: a text is never reused for another writer."""
        if self._identity is None:
            from ..llm import client_identity

            self._identity = client_identity(self.settings)
        return self._identity

    def tokens(self, text: str) -> int:
        return len(self.enc.encode(text))

    def key(self, level: str, messages: List[dict], variant: int) -> str:
        return content_key(GENERATOR_VERSION, self.identity, level, variant, messages)

    # -- the budget -------------------------------------------------------------------------------------

    def pending(self, question: str, names: List[str], variant: int) -> List[List[dict]]:
        """The requests a question still needs, as estimates: the chain is followed through the cache, and an
        addition not written yet stands in as `max_tokens` tokens of filler."""
        texts, lengths, calls = {"L0": question}, {"L0": self.tokens(question)}, []
        for name in names:
            base = texts[design.base_of(name)]
            messages = request(name, base, aim(name, lengths), variant)
            cached = self.cache.get(self.key(name, messages, variant)) if self.cache else None
            text = f"{base}\n\n{cached['text'] if cached else ' '.join(['word'] * self.max_tokens)}"
            if not cached:
                calls.append(messages)
            texts[name], lengths[name] = text, self.tokens(text)
        return calls

    def reserve(self, questions: List[str], names: List[str], variant: int) -> None:
        """Check the study's budget (the cache's ledger, judge.max_cost_usd) before any text is written: the
        writer spends from the same budget as the judge, and shows in the same totals."""
        calls = [call for question in questions for call in self.pending(question, names, variant)]
        if not calls:
            return
        # a retry resends the conversation: count every attempt's prompt, and every attempt's reply
        estimate = estimate_usd(calls * self.max_attempts, self.max_tokens, self.prices, encoding=self.enc.name)
        check_budget(self.settings["model"], estimate, self.settings, len(calls), self.cache,
                     what="level texts", who="prompt writer")
        self.share = (estimate or 0.0) / len(calls)

    # -- writing ----------------------------------------------------------------------------------------

    def question_levels(self, qid: int, question: str, names: List[str], values: List[str],
                        variant: int = 0) -> Dict[str, str]:
        """Every level in `names` (writing order) for one question, each its base + a blank line + one addition."""
        texts, lengths = {"L0": question}, {"L0": self.tokens(question)}
        for name in names:
            base = texts[design.base_of(name)]
            addition = self.addition(qid, name, texts, lengths, values, variant)
            if design.kind_of(name) == "example":
                with self.lock:  # a kept or cached one too: later examples must not repeat it either
                    self.examples.setdefault(qid, addition)
            texts[name] = f"{base}\n\n{addition}"
            lengths[name] = self.tokens(texts[name])
        return texts

    def check(self, qid: int, name: str, texts: Dict[str, str], lengths: Dict[str, int], addition: str,
              values: List[str]) -> Tuple[List[str], int]:
        """(problems, tokens the addition adds to its base). A worked example that passes is claimed for its
        question in the same step (under the lock), so that two questions written at once cannot both accept the
        same example."""
        base = design.base_of(name)
        size = self.tokens(f"{texts[base]}\n\n{addition}")
        with self.lock:
            others = {q: text for q, text in self.examples.items() if q != qid}
            problems = addition_problems(name, {**lengths, name: size}, texts["L0"], addition, values, others)
            if not problems and design.kind_of(name) == "example":
                self.examples[qid] = addition
        return problems, size - lengths[base]

    def addition(self, qid: int, name: str, texts: Dict[str, str], lengths: Dict[str, int], values: List[str],
                 variant: int) -> str:
        span = aim(name, lengths)
        messages = request(name, texts[design.base_of(name)], span, variant)
        key = self.key(name, messages, variant)
        cached = self.cache.get(key) if self.cache else None
        if cached:  # paid for once: checked again (the references may have changed), never asked again
            problems, _ = self.check(qid, name, texts, lengths, cached["text"], values)
            warn(qid, name, problems, "from the cache")
            return cached["text"]
        usage: Dict[str, int] = {}
        attempts = []  # (problems, text)
        try:
            for _ in range(self.max_attempts):
                with self.lock:
                    self.requests += 1
                reply = self.client.complete(messages, max_tokens=self.max_tokens, stop=self.stop)
                for k, v in reply.usage.items():
                    usage[k] = usage.get(k, 0) + (v or 0)
                text = reply.text.strip()
                problems, growth = self.check(qid, name, texts, lengths, text, values)
                attempts.append((problems, text))
                if not problems:
                    break
                banded = any(p.startswith("out of band") for p in problems)
                messages = messages + [{"role": "assistant", "content": text},
                                       {"role": "user", "content": follow_up(problems, span, growth if banded
                                                                             else None)}]
        except BaseException:
            if self.cache and usage:  # what was spent before the fault stays in the ledger
                self.cache.put(key, {}, spender=self.spender, usd=usage_usd(usage, self.prices), usage=usage,
                               store=False)
            raise
        problems, text = min(reversed(attempts), key=lambda a: (not a[1], len(a[0])))  # the last of the fewest
        if not text:
            raise UserError(f"question {qid} {name}: the writer model '{self.settings['model']}' returned an empty "
                            f"text {len(attempts)} time(s); check the endpoint, or use generate_mode: template")
        warn(qid, name, problems, f"after {len(attempts)} request(s)")
        if self.cache:  # the text and what it cost, in one transaction: the study's ledger
            self.cache.put(key, {"text": text}, spender=self.spender, usd=usage_usd(usage, self.prices),
                           usage=usage, release_usd=self.share)
        return text

    def close(self) -> None:
        if self.cache:
            self.cache.close()


def warn(qid: int, name: str, problems: List[str], when: str) -> None:
    """One line per problem of a kept text: the prompt audit flags it again before inference."""
    for problem in problems:
        print(f"slmbench: warning: question {qid} {name}: {problem} ({when}); kept, and flagged by the prompt audit",
              file=sys.stderr)


def llm_levels(questions: Dict[int, dict], levels, settings: Optional[dict], client=None, *,
               references: Optional[Dict[int, List[str]]] = None, variant: int = 0) -> Dict[int, Dict[str, str]]:
    """Level texts for every question. `settings`: the writer's client settings (prompts.generator, or the
    judge's) with the study's cache, max_cost_usd and prices, plus the writer's optional encoding,
    max_attempts and max_tokens; `references`: question id -> the final values its additions must not state;
    `variant` > 0: an independent wording (its own requests and cache entries)."""
    if not settings:
        raise UserError("prompts.generate_mode llm needs a model to write with: set prompts.generator (or the "
                        "judge section writes; --llm-settings)")
    names = levels_to_write(levels)
    writer = LevelWriter(settings, client=client, encoding=settings.get("encoding") or OFFLINE_ENCODING,
                         max_attempts=int(settings.get("max_attempts") or DEFAULT_MAX_ATTEMPTS),
                         max_tokens=int(settings.get("max_tokens") or DEFAULT_MAX_TOKENS),
                         concurrency=int(settings.get("concurrency") or DEFAULT_CONCURRENCY))
    references = references or {}
    try:
        ordered = sorted(questions.items())
        writer.reserve([first_turn(item).strip() for _, item in ordered], names, variant)
        if writer.concurrency > 1:
            _ = writer.client  # made once, before the worker threads share it
        written = run_concurrently(writer, [
            (qid, lambda qid=qid, item=item: writer.question_levels(qid, first_turn(item).strip(), names,
                                                                    references.get(qid, []), variant))
            for qid, item in ordered])
        return {qid: {lvl: written[qid][lvl] for lvl in levels} for qid, _ in ordered}
    finally:
        writer.close()


def run_concurrently(writer: LevelWriter, jobs: List[Tuple[int, object]]) -> Dict[int, Dict[str, str]]:
    """question -> its texts, `writer.concurrency` questions at a time. The first failure stops the rest (their
    retries see writer.stop, queued questions are not started) and is raised as it came; what was written and
    paid for before it stays in the cache and its ledger."""
    if writer.concurrency == 1:
        return {qid: job() for qid, job in jobs}
    with ThreadPoolExecutor(max_workers=writer.concurrency, thread_name_prefix="slmbench-writer") as pool:
        futures = {pool.submit(job): qid for qid, job in jobs}
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in done if f.exception() is not None), None)
        if failed is not None:
            writer.stop.set()
            for future in pending:
                future.cancel()
            raise failed.exception()
        return {futures[f]: f.result() for f in done}
