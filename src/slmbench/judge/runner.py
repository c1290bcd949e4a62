"""Judge one inference shard: blind prompts, cached verdicts, one repair retry, parse failures counted."""

from __future__ import annotations

import csv
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pydantic import ValidationError

from ..errors import UserError
from ..records import atomic_output, read_jsonl
from .cache import VerdictCache, verdict_key
from .rubric import DIMENSIONS, REPAIR_PROMPT, RUBRIC_VERSION, Verdict, build_messages

SCORE_COLUMNS = [
    "question_id", "category", "model_id", "level", *DIMENSIONS, "total_score", "reason", "judge_model",
    "judge_status", "judge_name", "repeat", "rubric_version", "judge_endpoint", "judged_at", "judge_prompt_tokens",
    "judge_completion_tokens", "cache_key",
]


def canonical_questions(prompts_csv) -> Dict[int, str]:
    """The L0 prompt of each question: what the judge is shown, whatever level produced the answer."""
    with open(prompts_csv, encoding="utf-8", newline="") as fh:
        return {int(r["question_id"]): r["prompt"] for r in csv.DictReader(fh) if r["level"] == "L0"}


def reference_answers(path) -> Dict[int, str]:
    if not path:
        return {}
    refs = {}
    for item in read_jsonl(path):
        refs[int(item["question_id"])] = item["choices"][0]["turns"][0]
    return refs


def parse_verdict(text: str) -> Optional[Verdict]:
    try:
        return Verdict.model_validate(json.loads(text))
    except (ValueError, ValidationError, TypeError):
        return None


def ask(judge, question: str, answer: str, reference: Optional[str]) -> dict:
    """One verdict: the judge's reply, one repair retry if it is invalid, else a counted parse_error."""
    messages = build_messages(question, answer, reference)
    reply = judge.complete(messages)
    usage = dict(reply.usage)
    verdict = parse_verdict(reply.text)
    if verdict is None:
        retry = judge.complete(messages + [{"role": "assistant", "content": reply.text},
                                           {"role": "user", "content": REPAIR_PROMPT}])
        for k, v in retry.usage.items():
            usage[k] = usage.get(k, 0) + v
        verdict = parse_verdict(retry.text)
    row = {"judge_model": reply.model, "judge_endpoint": reply.endpoint, "rubric_version": RUBRIC_VERSION,
           "judged_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "judge_prompt_tokens": usage.get("prompt_tokens"), "judge_completion_tokens": usage.get("completion_tokens")}
    if verdict is None:
        return {**row, "judge_status": "parse_error", "reason": reply.text[:300]}
    return {**row, "judge_status": "ok", **{d: getattr(verdict, d) for d in DIMENSIONS},
            "total_score": verdict.total, "reason": verdict.reason}


def judge_records(records: Sequence[dict], questions: Dict[int, str], references: Dict[int, str], settings: dict,
                  judge=None, use_cache: bool = True) -> List[dict]:
    repeats = int(settings.get("repeats", 1) or 1)
    cache = VerdictCache(settings["cache"]) if use_cache and settings.get("cache") else None
    rows: List[dict] = []
    todo = []
    for record in records:
        qid = int(record["question_id"])
        base = {**{k: record[k] for k in ("question_id", "category", "model_id", "level")}, "judge_name": settings["model"]}
        for rep in range(repeats):
            if record.get("status") != "ok" or record.get("output") is None:
                rows.append({**base, "repeat": rep, "judge_status": "run_error", "reason": record.get("error") or ""})
                continue
            if qid not in questions:
                raise UserError(f"question {qid} has no L0 prompt in the prompt CSV; the judge needs the canonical question")
            key = verdict_key(settings["model"], RUBRIC_VERSION, questions[qid], references.get(qid), record["output"], rep)
            row = {**base, "repeat": rep, "cache_key": key}
            rows.append(row)
            cached = cache.get(key) if cache else None
            if cached:
                row.update(cached)
            else:
                todo.append((row, questions[qid], record["output"], references.get(qid)))
    if todo:
        from .cost import check_budget, estimate_usd

        prices = settings.get("price_per_mtok")
        estimate = estimate_usd([build_messages(q, a, ref) for _, q, a, ref in todo], int(settings.get("max_tokens", 512)),
                                prices)
        check_budget(estimate, settings.get("max_cost_usd"), len(todo))
        judge = judge or _make_judge(settings)
        sleep_s = float(settings.get("sleep_s", 0) or 0)
        pace = RequestPacer(settings.get("rate_limit_rps"))

        def work(item):
            row, question, answer, reference = item
            pace.wait()
            verdict = ask(judge, question, answer, reference)
            if cache:
                cache.put(row["cache_key"], verdict)  # committed at once: a crash later loses nothing paid for
            row.update(verdict)
            if sleep_s:
                time.sleep(sleep_s)

        workers = 1 if settings.get("backend") == "llamacpp" else max(1, int(settings.get("concurrency", 4) or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, todo))
    if cache:
        cache.close()
    return rows


class RequestPacer:
    """At most `rps` requests per second across all worker threads (None: no limit)."""

    def __init__(self, rps: Optional[float]):
        self.interval = 1.0 / rps if rps else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        time.sleep(max(0.0, start - now))


def _make_judge(settings):
    from .clients import make_judge

    return make_judge(settings)


def write_scores(rows: List[dict], out_csv) -> Path:
    with atomic_output(out_csv) as fh:
        writer = csv.DictWriter(fh, fieldnames=SCORE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c) for c in SCORE_COLUMNS})
    return Path(out_csv)


def judge_shard(runs_path, prompts_csv, references_path, out_csv, settings: dict, use_cache: bool = True) -> Path:
    records = sorted(read_jsonl(runs_path), key=lambda r: r["question_id"])
    rows = judge_records(records, canonical_questions(prompts_csv), reference_answers(references_path), settings,
                         use_cache=use_cache)
    return write_scores(rows, out_csv)


def merge_scores(score_csvs: Sequence, out_csv) -> Path:
    rows: List[dict] = []
    for path in score_csvs:
        with open(path, encoding="utf-8", newline="") as fh:
            rows.extend(csv.DictReader(fh))
    with atomic_output(out_csv) as fh:
        writer = csv.DictWriter(fh, fieldnames=SCORE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(out_csv)
