"""Reports from the merged runs and scores: six workbooks, statistics, plots, summary.md, exports, validation.

Imports are lazy (PEP 562) so `slmbench --help` and the workflow's rule files stay fast.

    from slmbench.report import build_workbooks, export_responses, validate_results, build_plots, write_summary
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "build_workbooks": "workbooks",
    "build_plots": "plots",
    "write_summary": "summary",
    "export_responses": "export",
    "validate_results": "validate",
    "question_ids_from_prompt_csvs": "validate",
    "build_reports": "build",
    "settings_from_config": "settings",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
