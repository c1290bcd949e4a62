"""Snakemake logger plugin `slmbench` (profiles/default: `logger: [slmbench]`): a study run's console.

Snakemake writes five lines per job ("Select jobs to execute...", "Execute 1 jobs...", a timestamp,
"Finished jobid: N (Rule: r)", "N of M steps (x%) done"): 500 of a demo run's 740 lines, which drown the
jobs' own live lines (one per answer, one per verdict). Its `--quiet` choices cannot silence the first two
short of `--quiet all`, which hides warnings and errors too. So this handler writes what Snakemake's own
console handler writes, through Snakemake's default filter and formatter (the profile's `quiet` still applies),
less that chatter and the start banner, and one progress line with the time left every tenth of the jobs in
place of "N of M steps done" (slmbench.console). Warnings, errors, a failed job's log and a dry run's job
table pass as they are. `--verbose`, or a `--quiet` without `rules` (`--quiet host`: the job banners back), writes
Snakemake's whole account.
"""

from __future__ import annotations

import logging
import re
import sys

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent

# Scheduler and start-up lines (event-less INFO records) that say nothing a user acts on
CHATTER = re.compile(
    r"^(Select jobs to execute\.\.\.|Execute \d+ jobs\.\.\.|Building DAG of jobs\.\.\.|Using shell: "
    r"|Provided cores: |Rules claiming more threads will be scaled down\.|Provided resources: "
    r"|Assuming unrestricted shared filesystem usage\.|Complete log(\(s\))?: |host: )"
)
# per-job events ("Execute N jobs...", "Finished jobid"), the resources, the job table a real run prints first
# (the plan replaces it)
CHATTER_EVENTS = {LogEvent.JOB_STARTED, LogEvent.JOB_FINISHED, LogEvent.RESOURCES_INFO, LogEvent.RUN_INFO,
                  LogEvent.WORKFLOW_STARTED}


def is_chatter(record: logging.LogRecord, dryrun: bool) -> bool:
    """Whether a record is scheduler chatter: dropped unless --verbose."""
    if record.levelno >= logging.WARNING:
        return False
    event = getattr(record, "event", None)
    if event in CHATTER_EVENTS:
        return not (dryrun and event == LogEvent.RUN_INFO)  # a dry run's job table is what it is for
    return event is None and bool(CHATTER.match(str(record.getMessage())))


def _quiet_about_rules(settings) -> bool:
    """Whether the run is quiet about its jobs (the profile's `quiet: [rules, host]`): then the scheduler's
    per-job lines go too. A command line that brings the job banners back (`--quiet host`) gets Snakemake's
    whole job-by-job account, its "Finished jobid" lines included."""
    return any(getattr(q, "name", str(q)).lower() in ("rules", "all") for q in (getattr(settings, "quiet", None) or ()))


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        self.stream = sys.stdout if getattr(self.common_settings, "stdout", False) else sys.stderr
        self.verbose = bool(getattr(self.common_settings, "verbose", False))
        if not self.verbose and _quiet_about_rules(self.common_settings):
            self.addFilter(self._quiet)

    def _quiet(self, record: logging.LogRecord) -> bool:
        dryrun = bool(getattr(self.common_settings, "dryrun", False))
        if getattr(record, "event", None) == LogEvent.PROGRESS:
            from slmbench.console import progress_due, progress_line

            done, total = int(getattr(record, "done", 0)), int(getattr(record, "total", 0) or 1)
            if dryrun or not progress_due(done, total):
                return False
            record.event, record.msg, record.args = None, progress_line(done, total), ()
            return True
        return not is_chatter(record, dryrun)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if text and text != "None":
                self.stream.write(text + "\n")
                self.stream.flush()
        except Exception:
            self.handleError(record)

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        # False: Snakemake adds its default filter (quiet, printshellcmds) beside ours; --verbose: no filter at all
        return self.verbose

    @property
    def has_formatter(self) -> bool:
        return False  # Snakemake's default formatter: its job, error and log messages as they are

    @property
    def needs_rulegraph(self) -> bool:
        return False
