"""Names of the report outputs, shared by the package and workflow/rules/report.smk (no heavy imports).

slmbench.layout is their one home; this module re-exports them until the rules import layout directly."""

from __future__ import annotations

from ..layout import (  # noqa: F401 - re-exported
    EXPORT_CSV,
    EXPORT_RESPONSES_DIR,
    EXPORT_SUMMARY,
    PLOT_FORMATS,
    PLOTS,
    SUMMARY_BY_LEVEL_CSV,
    WORKBOOKS,
)
