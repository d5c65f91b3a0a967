"""Dagster's side of `civic run`'s progress: a logger that reads the structured event on each
log record and reports it to the run's display (`pipelines.console`) by stage, instead of
printing Dagster's full debug log (which goes to the run's log file)."""

from __future__ import annotations

import contextlib
import logging

from dagster import DagsterEventType, Field, InitLoggerContext, logger

from pipelines.console import DBT_STEP, active_display, stage_of
from pipelines.dagster_internals import LOG_RECORD_METADATA_ATTR


def root_cause(error) -> str:
    """The innermost error of Dagster's wrapped chain: what actually went wrong."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


class ProgressHandler(logging.Handler):
    def __init__(self, total_assets: int, checks: int = 0, dbt_tests: int = 0) -> None:
        super().__init__()
        self.total = total_assets
        self.expected = {"checks": checks, "dbt tests": dbt_tests}  # this run's, 0: unknown
        self.begun: set[str] = set()  # the stages this run has begun
        self.seen: set[str] = set()
        self.display = active_display()
        self.broken = False

    def emit(self, record: logging.LogRecord) -> None:
        # Dagster calls this inside every step: an error here would fail the step, so the
        # display may stop but the run goes on (and the log file keeps every record).
        display = self.display
        if display.log_handler is not None:
            display.log_handler.handle(record)
        if self.broken:
            return
        try:
            self.report(record)
        except Exception as error:  # noqa: BLE001 - nothing the display does may fail a run
            self.broken = True
            note = f"progress display stopped ({type(error).__name__}: {error}); the run goes on"
            if display.log_handler is not None:
                record = {"msg": note, "levelno": logging.ERROR, "levelname": "ERROR"}
                display.log_handler.handle(logging.makeLogRecord(record))
            with contextlib.suppress(Exception):
                display.say(f"  {note}; see the log file at the end")

    def report(self, record: logging.LogRecord) -> None:
        display = self.display
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        if event is None:
            # dagster-dbt's own warnings (tests it logs as observations) stay in the log file
            if record.levelno >= logging.WARNING and step != DBT_STEP:
                message = str(meta.get("orig_message", record.getMessage())).strip()
                display.say(f"  warning: {message.splitlines()[0] if message else ''}")
            return
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            name = materialization.asset_key.to_user_string()
            if name in self.seen:  # a month range reports each month: one line is enough
                return
            self.seen.add(name)
            stage = stage_of(step, check=False)
            if stage == "loads" and len(self.seen) == 1:  # a load run: every asset is a load
                display.begin("loads", self.total)
            rows = materialization.metadata.get("dagster/row_count")
            suffix = f" ({rows.value:,} rows)" if rows is not None else ""
            display.advance(stage, f"{name}{suffix}")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            stage = stage_of(step, check=True)
            if stage not in self.begun:
                self.begun.add(stage)
                display.begin(stage, self.expected.get(stage) or None)
            display.advance(stage, failed=not evaluation.passed)
            if not evaluation.passed:
                display.say(
                    f"  check FAILED: {evaluation.check_name} on "
                    f"{evaluation.asset_key.to_user_string()}"
                )
        elif kind == DagsterEventType.STEP_START and step == DBT_STEP:
            # a transform run: its assets are the dbt models and the exports
            display.begin("dbt models", max(self.total - 1, 1))
            display.begin("dbt tests", self.expected["dbt tests"] or None)
            self.begun.add("dbt tests")
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            if step == DBT_STEP:
                display.end("dbt models")
                display.end("dbt tests")
            if kind == DagsterEventType.STEP_FAILURE:
                message = root_cause(event.event_specific_data.error)
                display.say(f"{display.clock()} {step} FAILED: {message}")
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            for stage in ("loads", "checks", "exports"):
                display.end(stage)


@logger(
    config_schema={
        "total_assets": int,
        "checks": Field(int, default_value=0, description="quality checks the run evaluates"),
        "dbt_tests": Field(int, default_value=0, description="dbt tests the run evaluates"),
    },
    description="Progress by stage (loads, checks, dbt models and tests, exports).",
)
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("civic.progress")
    log.setLevel(logging.DEBUG)  # step and materialization events are logged at DEBUG
    config = init_context.logger_config
    log.handlers = [ProgressHandler(config["total_assets"], config["checks"], config["dbt_tests"])]
    log.propagate = False
    return log


def progress_run_config(
    verbose: bool, total_assets: int, checks: int = 0, dbt_tests: int = 0
) -> dict:
    """Run config selecting the progress logger, or Dagster's console log with --verbose."""
    if verbose:
        return {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
    totals = {"total_assets": total_assets, "checks": checks, "dbt_tests": dbt_tests}
    return {"loggers": {"progress": {"config": totals}}}
