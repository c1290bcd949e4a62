"""The live lines a running study prints: one per inference, one per verdict, the model load and idle power.

They follow the seed scripts' format, so a person watching the console (or `tail -f` on a shard's log) sees
each answer arrive:

    [L1] Q81 writing  Latency: 2345.6ms | Tokens: 61→178 | Energy: 3.456J
    [2/200] Judging Q81 - qwen1.5-1.8b - L0  Score: 8.5/10 - Clear and correct, but ...

Stdlib only and Python 3.10 compatible: the inference step imports it under JetPack 6's system Python.
`slmbench status` counts the inference lines in a running shard's log to show its progress.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

# a judge job's lines shown on the console (its log keeps everything): verdicts and its usage summary
JUDGE_CONSOLE_PREFIXES = ("[", "slmbench: judge ")
# the marker `slmbench status` counts in a running shard's log (one per finished inference)
INFERENCE_MARK = "  Latency: "
REASON_WORDS = 12


def _number(value: Any, fmt: str, unit: str) -> str:
    return "n/a" if value is None else f"{value:{fmt}}{unit}"


def question_label(question_id: Any, variant: int = 0) -> str:
    """`Q81`, or `Q81 v1` for another wording of its prompt (prompts.variants): variant 0 reads as before."""
    return f"Q{question_id}" + (f" v{variant}" if variant else "")


def inference_line(record: Any) -> str:
    """`[L1] Q81 writing  Latency: 2345.6ms | Tokens: 61→178 | Energy: 3.456J` (energy "n/a" when not
    measured); a failed run shows its error instead of the numbers."""
    head = f"[{record.level}] {question_label(record.question_id, getattr(record, 'variant', 0))} {record.category}"
    if record.status != "ok":
        return f"{head}  ERROR: {_first_words(record.error or '', 24)}"
    tokens = f"{_number(record.prompt_tokens, 'd', '')}→{_number(record.completion_tokens, 'd', '')}"
    return (f"{head}{INFERENCE_MARK}{_number(record.latency_ms, '.1f', 'ms')} | Tokens: {tokens} | "
            f"Energy: {_number(record.energy_j, '.3f', 'J')}")


def load_line(model_id: str, model_file: str, seconds: float) -> str:
    return f"model {model_id} loaded in {seconds:.1f} s ({model_file})"


def idle_line(idle_power_mw: Optional[float], source: str) -> str:
    if idle_power_mw is None:
        return f"idle power: n/a (no idle baseline; power source {source}): net energy stays empty"
    return f"idle power: {idle_power_mw:.0f} mW (power source {source})"


def verdict_line(index: int, total: int, row: Mapping[str, Any]) -> str:
    """`[2/200] Judging Q81 - qwen1.5-1.8b - L0  Score: 8.5/10 - <the reason's first words>`."""
    question = question_label(row.get("question_id"), row.get("variant") or 0)
    head = f"[{index}/{total}] Judging {question} - {row.get('model_id')} - {row.get('level')}"
    if row.get("judge_status") == "ok" and row.get("total_score") is not None:
        score = f"Score: {float(row['total_score']):g}/10"
    else:
        score = f"Score: none ({row.get('judge_status') or 'no verdict'})"
    reason = _first_words(str(row.get("reason") or ""), REASON_WORDS)
    return f"{head}  {score}" + (f" - {reason}" if reason else "")


def _first_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" ..." if len(words) > n else "")
