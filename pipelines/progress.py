"""Concise progress lines for `civic run`: one line per asset materialized, failures in full.

A Dagster logger (Dagster's own extension point for run output) that reads the structured event
on each log record instead of printing Dagster's full debug log.
"""

from __future__ import annotations

import logging
import sys
import time

from dagster import DagsterEventType, InitLoggerContext, logger

from pipelines.dagster_internals import LOG_RECORD_METADATA_ATTR


def root_cause(error) -> str:
    """The innermost error of Dagster's wrapped chain: what actually went wrong."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


class ProgressHandler(logging.Handler):
    def __init__(self, total_assets: int) -> None:
        super().__init__()
        self.total = total_assets
        self.seen: set[str] = set()
        self.checks_failed = 0
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        event = meta.get("dagster_event")
        if event is None:
            if record.levelno >= logging.WARNING:
                self.say(f"  warning: {meta.get('orig_message', record.getMessage())}")
            return
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            name = materialization.asset_key.to_user_string()
            if name in self.seen:  # a month range reports each month: one line is enough
                return
            self.seen.add(name)
            rows = materialization.metadata.get("dagster/row_count")
            suffix = f" ({rows.value:,} rows)" if rows is not None else ""
            self.say(f"  [{len(self.seen):>3}/{self.total}] {name}{suffix}")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                self.checks_failed += 1
                self.say(
                    f"  check FAILED: {evaluation.check_name} on "
                    f"{evaluation.asset_key.to_user_string()}"
                )
        elif kind == DagsterEventType.STEP_START:
            self.say(f"{self.clock()} {meta.get('step_key')} started")
        elif kind == DagsterEventType.STEP_FAILURE:
            message = root_cause(event.event_specific_data.error)
            self.say(f"{self.clock()} {meta.get('step_key')} FAILED: {message}")

    def clock(self) -> str:
        return f"[{time.monotonic() - self.started:5.0f} s]"

    @staticmethod
    def say(line: str) -> None:
        print(line, file=sys.stdout, flush=True)


@logger(
    config_schema={"total_assets": int},
    description="One line per materialized asset and per failure.",
)
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("civic.progress")
    log.setLevel(logging.DEBUG)  # step and materialization events are logged at DEBUG
    log.handlers = [ProgressHandler(init_context.logger_config["total_assets"])]
    log.propagate = False
    return log


def progress_run_config(verbose: bool, total_assets: int) -> dict:
    """Run config selecting the progress logger, or Dagster's console log with --verbose."""
    if verbose:
        return {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
    return {"loggers": {"progress": {"config": {"total_assets": total_assets}}}}
