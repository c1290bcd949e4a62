"""Planning speed: what makes `snakemake -n` on a large study cost little more than Snakemake's own work.

Snakemake asks `inspect.signature()` of an input, params or resources function at every call, twice (which keyword
arguments to pass: `input`, `output`, `threads`, `groupid`...): about as much as the whole job's own Python
in a study of 1600 shards and ~9 functions per shard. A function's signature never changes, so it is taken
once per function, after the rules are defined, and handed to Snakemake through
`snakemake.common.overwrite_function_params`, the hook Snakemake's own wrappers (subpath, as_py_module) use
for the same purpose. If that hook ever goes away, planning is only slower again, never wrong.
"""

from __future__ import annotations

import inspect
from typing import Any, Iterable


def _functions_in(item: Any) -> Iterable[Any]:
    """The function behind a rule's input/params item: plain, or wrapped by ancient()/unpack()/a flag."""
    for candidate in (item, getattr(item, "callable", None), getattr(getattr(item, "_file", None), "callable", None)):
        if inspect.isfunction(candidate):
            yield candidate


def remember_function_signatures(workflow) -> int:
    """Give every input, params and resources function of the workflow's rules its signature once; returns how
    many."""
    try:
        from snakemake.common import FUNC_OVERWRITE_PARAMS_ATTR, overwrite_function_params
    except ImportError:
        return 0
    done = 0
    for rule in workflow.rules:
        resources = getattr(getattr(rule, "resources", None), "_data", None) or {}
        evaluators = [getattr(resource, "_evaluator", None) for resource in resources.values()]
        for items in (getattr(rule, "input", None), getattr(rule, "params", None), evaluators):
            for item in list(items or []):
                for func in _functions_in(item):
                    if not hasattr(func, FUNC_OVERWRITE_PARAMS_ATTR):
                        overwrite_function_params(func, inspect.signature(func).parameters)
                        done += 1
    return done
