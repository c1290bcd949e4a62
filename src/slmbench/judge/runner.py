"""Judge one inference shard: blind prompts, cached verdicts, one repair retry, parse failures counted."""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import UserError
from ..live import verdict_line
from ..llm.cache import ContentCache
from ..llm.client import ReplyUnavailable
from ..llm.cost import check_budget, estimate_usd, usage_usd
from ..llm.retry import SAY_WAIT_S, Stopped
from ..prompt_rows import read_prompt_rows
from ..questions import choose_references, read_questions, read_reference_file
from ..records import read_run_records
from ..scores import write_score_rows
from .panel import panel
from .rubric import DIMENSIONS, RUBRIC_VERSION, Verdict, build_messages, repair_prompt, verdict_reply
from .verdicts import actual_usd, cached_row_problem, judge_identity, verdict_from_json, verdict_key


def canonical_questions(prompts_csv) -> Dict[int, str]:
    """The L0 prompt of each question: what the judge is shown, whatever level (and variant) produced the
    answer. With prompt variants, variant 0's L0 (the same question, so one verdict per identical answer)."""
    rows = sorted((r for r in read_prompt_rows(prompts_csv) if r.level == "L0"), key=lambda r: r.variant)
    found: Dict[int, str] = {}
    for r in rows:
        found.setdefault(r.question_id, r.prompt)
    return found


def reference_answers(path, questions_path=None, override_path=None) -> Dict[int, Tuple[str, str]]:
    """question id -> (reference text, source): question.jsonl's own corrected `reference` first, the
    reference-answer file only where a question has none, an override file above both (questions.py)."""
    return choose_references(read_questions(questions_path), read_reference_file(path),
                             read_reference_file(override_path) if override_path else None)


def _reference(references: Mapping, qid: int) -> Tuple[Optional[str], str]:
    found = references.get(qid)
    if not found:
        return None, "none"
    if isinstance(found, str):  # a plain {qid: text} (tests, callers of the older form)
        return found, "reference_file"
    return found


def reference_sha256(text: Optional[str]) -> Optional[str]:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def parse_verdict(text: str, with_reference: bool = False) -> Optional[Verdict]:
    """The verdict a reply holds, or None: the same strict reading in every structured-output mode (a schema
    enforced by the endpoint, JSON-object mode, a local grammar)."""
    return verdict_from_json(text, with_reference)


class VerdictUnavailable(Exception):
    """The judge answered, but with nothing (an empty reply): not cached, asked again on the next run."""


def _checked_reply(reply):
    if not (reply.text or "").strip():
        raise VerdictUnavailable(f"empty reply (finish_reason {reply.finish_reason})")
    return reply


def ask(judge, question: str, answer: str, reference: Optional[str], stop: threading.Event,
        max_tokens: int = 512) -> dict:
    """One verdict: the judge's reply, one repair retry if it is invalid, else a counted parse_error. A reply
    still cut at max_tokens after the retry is a parse_error marked `_cut`: counted, never cached (a rerun with
    a larger judge.max_tokens asks again). An empty reply is no verdict at all: VerdictUnavailable."""
    with_reference = bool(reference)
    schema = verdict_reply(with_reference, max_tokens)
    messages = build_messages(question, answer, reference)
    reply = _checked_reply(judge.complete(messages, stop=stop, schema=schema))
    usage = dict(reply.usage)
    verdict = parse_verdict(reply.text, with_reference)
    cut = verdict is None and reply.finish_reason == "length"
    if verdict is None:
        retry = _checked_reply(judge.complete(messages + [{"role": "assistant", "content": reply.text},
                                                          {"role": "user", "content": repair_prompt(with_reference)}],
                                              stop=stop, schema=schema))
        for k, v in retry.usage.items():
            usage[k] = (usage.get(k) or 0) + (v or 0)
        verdict = parse_verdict(retry.text, with_reference)
        cut = verdict is None and (cut or retry.finish_reason == "length")
    row = {"judge_model": reply.model, "judge_endpoint": reply.endpoint, "rubric_version": RUBRIC_VERSION,
           "judged_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
           "judge_prompt_tokens": usage.get("prompt_tokens"), "judge_completion_tokens": usage.get("completion_tokens")}
    if cut:
        return {**row, "judge_status": "parse_error", "_cut": True,
                "reason": f"cut at judge.max_tokens={max_tokens} (not cached; raise judge.max_tokens and rerun): "
                          + " ".join(reply.text.split())[:200]}
    if verdict is None:
        return {**row, "judge_status": "parse_error", "reason": " ".join(reply.text.split())[:300]}
    return {**row, "judge_status": "ok", **{d: getattr(verdict, d) for d in DIMENSIONS},
            "total_score": verdict.total, "reason": verdict.reason,
            "reference_match": verdict.reference_match if with_reference else None}


def judge_records(records: Sequence[dict], questions: Dict[int, str], references: Mapping, settings: dict,
                  judge=None, use_cache: bool = True) -> List[dict]:
    """Score rows for every record, by every judge of the panel and every repeat. `references`: question id
    -> (text, source) as reference_answers gives it (a plain text counts as from the reference file)."""
    rows: List[dict] = []
    for i, one in enumerate(panel(settings)):  # `judge`, if given, is the first judge (tests, benchmarks)
        rows += _judge_with(one, records, questions, references, judge if i == 0 else None, use_cache)
    return rows


def _repeats_of(record: dict, repeats: int, extra: set) -> range:
    """Repeat indices of one answer: 0..repeats-1; an answer drawn by judge.repeat_fraction has at least 0 and 1
    (with repeats >= 2 every answer is judged repeatedly already, and the fraction adds nothing)."""
    return range(max(repeats, 2) if answer_key(record) in extra else repeats)


def _judge_with(settings: dict, records, questions, references, judge, use_cache: bool) -> List[dict]:
    name = settings["name"]
    repeats = int(settings.get("repeats", 1) or 1)
    extra = repeat_sample(records, float(settings.get("repeat_fraction") or 0))
    # --no-cache: ask again, but still store what is paid for (and count it against the budget)
    cache = ContentCache(settings["cache"]) if settings.get("cache") else None
    rows: List[dict] = []
    todo = []
    hits: List[dict] = []  # rows whose verdict came from the cache
    # rows whose verdict another row of this job asks for: the same answer to the same question (in another power
    # mode, or at another level) is one verdict (the cache key is its content), asked once
    followers: Dict[str, List[dict]] = {}
    identity = judge_identity(settings)  # from the settings alone: an all-cached rerun needs no key, loads no GGUF
    # repeats at judge.repeat_temperature: a repeat at temperature 0 measures the endpoint, not the rubric
    repeat_identity = judge_identity(repeat_settings(settings))
    bad_cached: List[Tuple[dict, str]] = []  # cache entries that fail the check a fresh reply gets: asked again
    try:
        for record in records:
            qid = int(record["question_id"])
            base = {**{k: record[k] for k in ("question_id", "category", "model_id", "level")},
                    "variant": int(record.get("variant") or 0), "power_mode_id": record.get("power_mode_id"),
                    "judge_name": name}
            reference, source = _reference(references, qid)
            for rep in _repeats_of(record, repeats, extra):
                if record.get("status") != "ok" or record.get("output") is None:
                    rows.append({**base, "repeat": rep, "judge_status": "run_error",
                                 "reason": record.get("error") or ""})
                    continue
                if qid not in questions:
                    raise UserError(f"question {qid} has no L0 prompt in the prompt CSV; the judge needs the canonical "
                                    f"question")
                key = verdict_key(repeat_identity if rep else identity, RUBRIC_VERSION, questions[qid], reference,
                                  record["output"], rep)
                row = {**base, "repeat": rep, "cache_key": key, "reference_source": source,
                       "reference_sha256": reference_sha256(reference)}
                rows.append(row)
                cached = cache.get(key) if cache and use_cache else None
                problem = cached_row_problem(cached, bool(reference)) if cached is not None else None
                if cached is not None and problem is None:
                    row.update(cached)
                    hits.append(row)
                elif key in followers:
                    followers[key].append(row)
                else:
                    followers[key] = []
                    if problem is not None:
                        bad_cached.append((row, problem))
                    todo.append((row, questions[qid], record["output"], reference))
        if bad_cached:
            row, why = bad_cached[0]
            print(f"slmbench: judge {name}: warning: {len(bad_cached)} cached verdict(s) in {settings['cache']} are "
                  f"not valid verdicts (first: Q{row['question_id']} {row['model_id']} {row['level']}: {why}); asking "
                  f"again", file=sys.stderr)
        # a verdict from the cache has its live line too (the console shows every answer's verdict), first
        total = len(hits) + len(todo) + sum(len(rows_) for rows_ in followers.values())
        for i, row in enumerate(hits, start=1):
            print(verdict_line(i, total, row) + "  (cached)", file=sys.stderr, flush=True)
        if not todo:
            _report(name, rows, 0, settings.get("price_per_mtok"))
            return rows
        prices = settings.get("price_per_mtok")
        estimate = estimate_usd([build_messages(q, a, ref) for _, q, a, ref in todo],
                                int(settings.get("max_tokens", 512)), prices)
        check_budget(name, estimate, settings, len(todo), cache)
        judge = judge or _make_judge(settings)
        repeat_judge = with_temperature(judge, repeat_settings(settings)["temperature"])
        share = (estimate or 0.0) / len(todo)  # each verdict hands this much of the reservation back
        sleep_s = float(settings.get("sleep_s", 0) or 0)
        pace = RequestPacer(settings.get("rate_limit_rps"))
        stop = threading.Event()
        said, said_lock = [len(hits)], threading.Lock()
        unavailable: List[Tuple[dict, str]] = []
        cut_rows: List[dict] = []

        def work(item):
            row, question, answer, reference = item
            pace.wait(stop)
            try:
                client = repeat_judge if row["repeat"] else judge
                verdict = ask(client, question, answer, reference, stop, int(settings.get("max_tokens") or 512))
            except (VerdictUnavailable, ReplyUnavailable) as exc:
                with said_lock:  # the others go on: they are paid for and cached; this one is asked next run
                    unavailable.append((row, str(exc)))
                    unavailable.extend((other, str(exc)) for other in followers[row["cache_key"]])
                return
            cut = verdict.pop("_cut", False)
            if cache:  # committed at once: a crash later loses nothing paid for; a cut reply is paid, not kept
                usage = {"prompt_tokens": verdict["judge_prompt_tokens"],
                         "completion_tokens": verdict["judge_completion_tokens"]}
                cache.put(row["cache_key"], verdict, spender=name, usd=usage_usd(usage, prices), usage=usage,
                          release_usd=share, store=not cut)
            if cut:
                with said_lock:
                    cut_rows.append(row)
            row.update(verdict)
            for other in followers[row["cache_key"]]:
                other.update(verdict)
            with said_lock:  # one live line per verdict: [2/200] Judging Q81 - model - L0  Score: 8.5/10 - ...
                said[0] += 1
                print(verdict_line(said[0], total, row), file=sys.stderr, flush=True)
                for other in followers[row["cache_key"]]:  # each score row has its line: these were not asked again
                    said[0] += 1
                    print(verdict_line(said[0], total, other) + "  (same answer)", file=sys.stderr, flush=True)
            if sleep_s:
                stop.wait(sleep_s)

        workers = 1 if settings.get("backend") == "llamacpp" else max(1, int(settings.get("concurrency", 4) or 1))
        _run_all(work, todo, workers, stop)
        _report(name, rows, len(todo), prices, failed=len(unavailable))
        if cut_rows:
            print(f"slmbench: judge {name}: warning: {len(cut_rows)} verdicts were cut at judge.max_tokens="
                  f"{settings.get('max_tokens')} and count as parse errors; they are not cached: raise "
                  f"judge.max_tokens and rerun to ask them again", file=sys.stderr)
        if unavailable:
            row, why = unavailable[0]
            raise UserError(f"judge {name}: {len(unavailable)} of {len(todo)} verdicts could not be obtained (first: "
                            f"Q{row['question_id']} {row['model_id']} {row['level']}: {why}); the "
                            f"{len(todo) - len(unavailable)} others are stored in the cache; rerun to ask only those "
                            f"again")
        return rows
    finally:
        if cache:
            cache.close()


REPEAT_SEED = "slmbench-repeat-1"  # the draw of judge.repeat_fraction: the same answers on every rerun


def answer_key(record: Mapping) -> tuple:
    """(model, level, question, variant): one prompt's answer (records.RECORD_KEY less the power mode: the draw of
    judge.repeat_fraction takes a prompt in every mode alike, so identical answers still share their verdicts)."""
    return (record["model_id"], record["level"], int(record["question_id"]), int(record.get("variant") or 0))


def _draw_rank(key: tuple) -> str:
    # variant 0 hashes as the key did before variants existed, so a one-variant study draws the same answers
    return hashlib.sha256(json.dumps([REPEAT_SEED, *(key if key[3] else key[:3])]).encode()).hexdigest()


def repeat_sample(records: Sequence[dict], fraction: float) -> set:
    """(model, level, question, variant) of the answers judged once more: in each (model, level, category) group of ok
    answers, round(fraction x n) of them (at least one where fraction > 0), ordered by a seeded hash, so the
    draw is stratified by model x level, reproducible, and the same whichever shard a record is judged in."""
    if fraction <= 0:
        return set()
    groups: Dict[tuple, Dict[tuple, None]] = {}
    for r in records:
        if r.get("status") == "ok" and r.get("output") is not None:
            key = answer_key(r)
            groups.setdefault((r["model_id"], r["level"], r.get("category")), {})[key] = None
    chosen = set()
    for keys in groups.values():
        ranked = sorted(keys, key=_draw_rank)  # each prompt once, however many power modes answered it
        chosen.update(ranked[:max(1, int(fraction * len(ranked) + 0.5))])
    return chosen


def _run_all(work, items, workers: int, stop: threading.Event) -> None:
    """Run `work` over `items` with `workers` threads. The first error stops the rest: queued items are never
    sent and waiting retries give up, so a bad key costs one request, not one per worker."""
    def guarded(item):
        if stop.is_set():
            raise Stopped()
        try:
            work(item)
        except Stopped:
            raise
        except BaseException:
            stop.set()  # here, not in the loop below: this worker must not take another item first
            raise

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(guarded, item) for item in items]
        first: Optional[BaseException] = None
        for future in as_completed(futures):
            if future.cancelled():
                continue
            exc = future.exception()
            if exc is not None and not isinstance(exc, Stopped) and first is None:
                first = exc
                for other in futures:
                    other.cancel()
    if first is not None:
        raise first


def _report(name: str, rows: List[dict], requested: int, prices, failed: int = 0) -> None:
    mine = [r for r in rows if r.get("judge_status") in ("ok", "parse_error")]
    prompt = sum(int(r.get("judge_prompt_tokens") or 0) for r in mine)
    completion = sum(int(r.get("judge_completion_tokens") or 0) for r in mine)
    spent = actual_usd(mine, prices)
    counts = {s: sum(r.get("judge_status") == s for r in rows) for s in ("ok", "parse_error", "run_error")}
    print(f"slmbench: judge {name}: {len(rows)} rows ({counts['ok']} ok, {counts['parse_error']} parse errors, "
          f"{counts['run_error']} failed runs{f', {failed} without a verdict' if failed else ''}); {requested} "
          f"requested, {len(mine) - requested + failed} from the cache; "
          f"usage {prompt} prompt + {completion} completion tokens"
          + (f", ${spent:.4f} for these verdicts" if spent is not None else ""), file=sys.stderr)


class RequestPacer:
    """At most `rps` requests per second across all worker threads (None: no limit)."""

    def __init__(self, rps: Optional[float]):
        self.interval = 1.0 / rps if rps else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self, stop: Optional[threading.Event] = None) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        delay = max(0.0, start - now)
        if delay > SAY_WAIT_S:  # never a silent wait: how long, and why
            print(f"slmbench: judge: waiting {delay:.0f} s before the next request (judge.rate_limit_rps)",
                  file=sys.stderr, flush=True)
        if stop is not None:
            if stop.wait(delay):
                raise Stopped()
        else:
            time.sleep(delay)


def repeat_settings(settings: dict) -> dict:
    """The settings a repeated verdict is asked with: judge.repeat_temperature (absent: the first's temperature)."""
    temperature = settings.get("repeat_temperature")
    return {**settings, "temperature": settings["temperature"] if temperature is None else float(temperature)}


def with_temperature(judge, temperature: float):
    """The same client (the same loaded model, the same connection pool) asking at another temperature: the clients
    read their temperature from `settings` at every call."""
    settings = getattr(judge, "settings", None)
    if not isinstance(settings, dict) or settings.get("temperature") == temperature:
        return judge
    other = copy.copy(judge)
    other.settings = {**settings, "temperature": temperature}
    return other


def _make_judge(settings):
    from ..llm import make_client

    return make_client(settings)


def judge_shard(runs_path, prompts_csv, references_path, out_csv, settings: dict, use_cache: bool = True,
                questions_path=None) -> Path:
    """Score one shard's runs; `runs_path` may be several files (every power mode's runs of one shard)."""
    paths = [runs_path] if isinstance(runs_path, (str, Path)) else list(runs_path)
    # timing repeats (repeat > 0) are measured, never judged: the scored run is repeat 0
    records = sorted((asdict(r) for path in paths for r in read_run_records(path) if r.repeat == 0),
                     key=lambda r: (r["question_id"], r["variant"], r["power_mode_id"] or 0))
    rows = judge_records(records, canonical_questions(prompts_csv), reference_answers(references_path, questions_path),
                         settings, use_cache=use_cache)
    try:
        return write_score_rows(rows, out_csv)
    except OSError as exc:  # a disk that filled while judging: one line, and the verdicts are in the cache
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise
        raise UserError(f"{out_csv}: cannot write the scores ({exc.strerror}); free space on that disk and rerun: "
                        f"every verdict is stored in the cache ({settings.get('cache')}), so none is paid "
                        f"twice") from None
