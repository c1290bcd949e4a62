"""The console plugin (src/snakemake_logger_plugin_slmbench) found by Snakemake's own plugin registry, and what
it lets through: no scheduler chatter when the run is quiet about its jobs, warnings and errors always, one
progress line every tenth of the jobs, everything with --verbose or with the job banners asked back."""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace

import pytest
from snakemake.settings.enums import Quietness
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

from slmbench import console


def handler(quiet=frozenset({Quietness.RULES, Quietness.HOST}), verbose=False, dryrun=False):
    plugin = LoggerPluginRegistry().get_plugin("slmbench")  # as `logger: [slmbench]` finds it
    settings = SimpleNamespace(quiet=set(quiet), verbose=verbose, dryrun=dryrun, stdout=False, printshellcmds=False,
                               nocolor=True, debug_dag=False, show_failed_logs=True)
    h = plugin.log_handler(settings, None)
    h.stream = io.StringIO()
    h.setFormatter(logging.Formatter("%(message)s"))
    return h


def record(msg, level=logging.INFO, **extra):
    r = logging.LogRecord("snakemake", level, __file__, 1, msg, (), None)
    r.__dict__.update(extra)
    return r


CHATTER = [record("Select jobs to execute..."), record("Execute 1 jobs...", event=LogEvent.JOB_STARTED),
           record("Finished jobid: 7 (Rule: judge_shard)", event=LogEvent.JOB_FINISHED),
           record("Building DAG of jobs..."), record("Provided cores: 2"), record("Using shell: /usr/bin/bash"),
           record("Job stats:\njob  count", event=LogEvent.RUN_INFO)]
KEPT = [record("Nothing to be done (all requested files are present and up to date)."),
        record("MissingOutputException in rule reports", level=logging.ERROR),
        record("Error in rule infer_shard:", level=logging.ERROR, event=LogEvent.JOB_ERROR),
        record("a warning of the workflow", level=logging.WARNING)]


def shown(h, records):
    return [r.getMessage() for r in records if h.filter(r)]


def test_the_plugin_drops_the_chatter_and_keeps_what_a_user_acts_on():
    h = handler()
    assert h.writes_to_stream and not h.writes_to_file
    assert shown(h, CHATTER) == []
    assert shown(h, KEPT) == [r.getMessage() for r in KEPT]


def test_a_dry_run_keeps_its_job_table():
    assert shown(handler(dryrun=True), CHATTER[-1:]) == ["Job stats:\njob  count"]


@pytest.mark.parametrize("how", [{"verbose": True}, {"quiet": frozenset({Quietness.HOST})}])
def test_verbose_or_the_banners_asked_back_show_everything(how):
    assert shown(handler(**how), CHATTER + KEPT) == [r.getMessage() for r in CHATTER + KEPT]


def test_progress_every_tenth_of_the_jobs_with_the_time_left(monkeypatch):
    monkeypatch.setattr(console, "_study", None)
    h = handler()
    lines = [h.format(r) for r in (record("", event=LogEvent.PROGRESS, done=d, total=56) for d in range(1, 57))
             if h.filter(r)]
    assert lines == [f"slmbench: {d} of 56 jobs done" for d in (6, 12, 18, 24, 30, 36, 42, 48, 54, 56)]
    left = "about 3 min left (inference 2 min, judging 1 min)"
    monkeypatch.setattr(console, "time_left", lambda: left)
    assert console.progress_line(6, 56) == f"slmbench: 6 of 56 jobs done; {left}"
    assert console.progress_line(56, 56) == "slmbench: 56 of 56 jobs done"
