"""Who writes llm-mode prompt levels, from the workflow config: `prompts.generator`, or the judge's section
when that is null (with a warning), and the warnings a study should see before it spends anything.

A writer that is also a judge grades answers to prompts it wrote: the study can still run, but the reader of
its results should know, so that case is a warning, not an error.
"""

from __future__ import annotations

from typing import List, Mapping

# What shapes the text: a change of these is a change of the prompts (Snakemake's params trigger). Price and
# budget are passed apart (writer_budget_args), so raising judge.max_cost_usd does not redo every shard.
WRITER_KEYS = ("backend", "model", "base_url", "api_key_env", "model_path", "chat_format", "timeout_s")


def writer_section(config: Mapping) -> Mapping:
    """prompts.generator, or the judge's section when it is null."""
    return config["prompts"]["generator"] or config["judge"]


def writer_settings(config: Mapping) -> dict:
    """The client settings of the writer, with the study's cache (the judge's: one ledger, one budget)."""
    section = writer_section(config)
    return {**{key: section[key] for key in WRITER_KEYS}, "cache": config["judge"]["cache"]}


def writer_budget_args(config: Mapping) -> str:
    """The CLI options that put the writer under the study's budget: judge.max_cost_usd and its own prices."""
    args = []
    max_cost = config["judge"]["max_cost_usd"]
    if max_cost is not None:
        args.append(f"--max-cost={max_cost}")
    prices = writer_section(config)["price_per_mtok"]
    if prices:
        args.append(f"--price {prices['input']} {prices['output']}")
    return " ".join(args)  # numbers only: nothing to quote


def writer_concurrency(config: Mapping) -> int:
    """Questions the llm writer works on at once: prompts.generator.concurrency, or the judge's own concurrency when
    the judge's section writes (its endpoint's limits are the judge's)."""
    return int(writer_section(config)["concurrency"])


def writer_run_args(config: Mapping) -> str:
    """The CLI options that pace the writer (not what it writes, so not a param: a change redoes no prompt)."""
    return f"--concurrency {writer_concurrency(config)}"


def judge_models(judge: Mapping) -> List[str]:
    """Every model of the judge panel (judge.model, then judge.judges' own or inherited model)."""
    return [judge["model"], *[extra.get("model", judge["model"]) for extra in judge.get("judges") or []]]


def writer_warnings(config: Mapping) -> List[str]:
    """One line per reason to look twice at who writes the levels (llm mode only)."""
    prompts, judge = config["prompts"], config["judge"]
    if prompts["source"] != "generate" or prompts["generate_mode"] != "llm":
        return []
    if not prompts["generator"]:
        return [f"slmbench: warning: prompts.generator is not set: the judge's model {judge['model']} writes the "
                f"levels and then grades answers to prompts it wrote; set prompts.generator to another model"]
    model = prompts["generator"]["model"]
    if model in judge_models(judge):
        return [f"slmbench: warning: prompts.generator.model {model} is also a judge (judge.model or judge.judges): "
                f"a judge grading answers to prompts it wrote; choose another model for one of them"]
    return []
