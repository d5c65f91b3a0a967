"""What `civic run` shows while it works, and where the rest goes.

- On a terminal: a live display (rich) with one bar per stage (loads, checks, dbt models,
  dbt tests, exports), its counts and elapsed time; failures print above it in full.
- Not on a terminal (CI, a pipe, a log collector): plain lines, one per load, one every
  `MODEL_STEP` dbt models, one per stage when it ends, and every failure.
- Everything else (dbt's own START/PASS lines, Dagster's full event log) goes to a log file
  under `<warehouse home>/logs/`, named at the end of the run; `--verbose` shows it instead.

`pipelines.progress` (the Dagster logger) feeds the display of the run in progress.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

STAGES = ("loads", "checks", "dbt models", "dbt tests", "exports")
MODEL_STEP = 50  # plain output: one line per this many dbt models built
DBT_STEP = "civic_dbt_models"  # the step that runs `dbt build` (pipelines.assets.transform)
EXPORTS_STEP = "exports__marts_parquet"  # pipelines.assets.exports


@dataclass
class Stage:
    name: str
    done: int = 0
    failed: int = 0
    total: int | None = None
    started: float | None = None
    ended: float | None = None

    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or time.monotonic()) - self.started


def stage_of(step_key: str | None, check: bool) -> str:
    """The stage an event belongs to, from the Dagster step that emitted it."""
    if step_key == DBT_STEP:
        return "dbt tests" if check else "dbt models"
    if step_key == EXPORTS_STEP:
        return "exports"
    return "checks" if check else "loads"


class RunDisplay:
    """Progress by stage for one `civic run` (its load and transform Dagster runs)."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        # soft_wrap: a long line stays one line (CI logs are read line by line)
        self.console = Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)
        self.live = self.console.is_terminal if live is None else live
        self.stages = {name: Stage(name) for name in STAGES}
        self.started = time.monotonic()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self.log_handler: logging.Handler | None = None  # Dagster's records, in full

    # -- what the Dagster logger reports ---------------------------------------------------

    def begin(self, name: str, total: int | None = None) -> None:
        stage = self.stages[name]
        if stage.started is None or stage.ended is not None:  # a new run of this stage
            stage.started, stage.ended = time.monotonic(), None
        if total is not None:
            stage.total = (stage.total or 0) + total if stage.done else total
        if self._progress is not None:
            if name not in self._tasks:
                self._tasks[name] = self._progress.add_task(name, total=stage.total)
            else:
                self._progress.update(self._tasks[name], total=stage.total)

    def advance(self, name: str, label: str = "", failed: bool = False) -> None:
        stage = self.stages[name]
        if stage.started is None:
            self.begin(name)
        stage.done += 1
        stage.failed += failed
        if self._progress is not None:
            self._progress.update(self._tasks[name], completed=stage.done)
        elif name == "loads" and label:
            total = f"/{stage.total}" if stage.total else ""
            self.say(f"  [{stage.done:>3}{total}] {label}")
        elif name == "dbt models" and stage.done % MODEL_STEP == 0:
            self.say(f"  dbt models: {stage.done} built ({stage.seconds():.0f} s)")

    def end(self, name: str) -> None:
        stage = self.stages[name]
        if stage.started is None or stage.ended is not None:
            return
        stage.ended = time.monotonic()
        if self._progress is None and name != "loads":
            failed = f", {stage.failed} failed" if stage.failed else ""
            self.say(f"  {name}: {stage.done} done{failed} ({stage.seconds():.0f} s)")

    def say(self, line: str) -> None:
        """A line above the live display (or a plain line): failures, warnings, notes."""
        self.console.print(line, markup=False)

    def clock(self) -> str:
        return f"[{time.monotonic() - self.started:5.0f} s]"

    # -- the live display ------------------------------------------------------------------

    @contextmanager
    def showing(self) -> Iterator[RunDisplay]:
        if not self.live:
            yield self
            return
        self._progress = Progress(
            TextColumn("{task.description:<11}"),
            BarColumn(),
            MofNCompleteColumn(),  # "12/42", or "12/?" for a stage whose size is not known
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        with self._progress:
            yield self
        self._progress = None

    def summary_table(self) -> Table:
        table = Table(title="civic run", title_justify="left")
        for column in ("stage", "done", "failed", "seconds"):
            table.add_column(column, justify="left" if column == "stage" else "right")
        for stage in self.stages.values():
            if stage.started is not None:
                table.add_row(
                    stage.name, f"{stage.done:,}", f"{stage.failed:,}", f"{stage.seconds():.0f}"
                )
        return table


_active: RunDisplay | None = None


def active_display() -> RunDisplay:
    """The display of the `civic run` in progress, or a plain one on stdout (other callers)."""
    return _active if _active is not None else RunDisplay(live=False)


def log_path(home: Path, command: str = "run") -> Path:
    folder = home / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{command}-{datetime.now():%Y%m%d-%H%M%S}.log"


@contextmanager
def run_display(log_file: Path | None, verbose: bool = False) -> Iterator[RunDisplay]:
    """The display for one `civic run`; unless verbose, everything else printed meanwhile
    (dbt's lines, Dagster's log records, warnings) goes to `log_file` instead of the screen."""
    from pipelines.redaction import RedactingStream

    global _active
    display = RunDisplay(sys.stdout)
    if verbose or log_file is None:
        _active = display
        try:
            yield display
        finally:
            _active = None
        return
    with log_file.open("a", encoding="utf-8") as opened:
        text = RedactingStream(opened)
        handler = logging.StreamHandler(text)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        display.log_handler = handler
        _active = display
        try:
            with display.showing(), redirect_stdout(text), redirect_stderr(text):
                yield display
        finally:
            _active = None
