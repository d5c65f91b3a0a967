"""What a raw load reads and how it writes it: the plan, without Dagster.

`plan_bundled` reads the table's file index (`meta.source_files`) and the files on disk and
decides (see `pipelines.sources` for the policy): nothing to read, every file (replace the
table; also when files were only removed), or only the new and changed files (replace their
rows and drop those of removed files), or the files covering the months asked for (replace
those months). The Dagster resource `pipelines.sources.DataSources`
and the benchmarks both call it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from pipelines.catalog import Dataset
from pipelines.connectors import Connector, FileConnector
from pipelines.connectors.base import DuckDBScan
from pipelines.loader.common import MonthRange, table_columns
from pipelines.loader.file_index import indexed_files, select_files


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_start(value: str) -> date:
    """'2022-01' or '2022-01-01' -> date(2022, 1, 1)."""
    year, month = value.split("-")[:2]
    return date(int(year), int(month), 1)


def this_month() -> date:
    today = datetime.now(UTC).date()
    return date(today.year, today.month, 1)


def whole_range(dataset: Dataset) -> MonthRange:
    """Every month of a dated dataset: from its start to the current month, inclusive."""
    spec = dataset.partitioning
    assert spec is not None
    return MonthRange(
        spec.column, spec.format, spec.start_date, next_month(this_month()), whole_range=True
    )


@dataclass
class Extract:
    """A connector ready to read, and how its rows must be written."""

    connector: Connector
    mode: str  # "bundled ...", "live full", "live incremental" or "live <months>"
    merge_key: str | None = None
    watermark: Callable[[], str | None] | None = None
    # An incremental load may find nothing new: that is "unchanged", not an empty source.
    unchanged_ok: bool = False
    # Dated datasets: the months the rows are dated in and, unless whole_range, replace.
    months: MonthRange | None = None
    # Bundled files: which to read and which indexed files are gone (None: every file).
    read: list[str] | None = None
    removed: list[str] = field(default_factory=list)
    unchanged: bool = False  # nothing to read: the table is as fresh as its source

    def rows(self) -> DuckDBScan | Iterator[pa.RecordBatch] | None:
        """What to load: a query DuckDB runs itself when the connector offers one (local
        files), else the stream of batches; None when there is nothing to read."""
        if self.unchanged:
            return None
        if isinstance(self.connector, FileConnector):
            return self.connector.scan(read=self.read, removed=self.removed)
        batches = self.connector.batches()
        first = next(batches, None)
        return None if first is None else itertools.chain([first], batches)


def plan_bundled(
    con: duckdb.DuckDBPyConnection,
    connector: FileConnector,
    dataset: Dataset,
    months: MonthRange | None,
    full_refresh: bool = False,
) -> Extract:
    """Read only what changed since the table's last load (see the module doc)."""
    on_disk = connector.on_disk()
    dated = dataset.partitioning is not None
    known = {}
    if not full_refresh and table_columns(con, dataset.raw_table):
        known = indexed_files(con, dataset.raw_table)
    if not known:  # first load, a full refresh, or a table a portal wrote
        return (
            Extract(connector, "bundled, every file", months=months or whole_range(dataset))
            if dated
            else Extract(connector, "bundled, every file")
        )
    selection = select_files(on_disk, known, months)
    if selection.unchanged:
        return Extract(connector, "bundled, unchanged", unchanged=True, months=months)
    every_file = set(selection.read) == set(on_disk) and not selection.removed
    if not dated:  # undated: a change reloads the whole table (its columns may change)
        return Extract(connector, f"bundled, {selection.reason}: whole table")
    if months is not None:
        return Extract(
            connector, f"bundled, {selection.reason}", months=months, read=selection.read
        )
    if every_file:
        return Extract(connector, f"bundled, {selection.reason}", months=whole_range(dataset))
    if not selection.read:  # files only removed: nothing to stage, so read the rest again
        return Extract(
            connector,
            f"bundled, {len(selection.removed)} file(s) removed: every file",
            months=whole_range(dataset),
        )
    return Extract(
        connector,
        f"bundled, {selection.reason}",
        merge_key="_source_file",
        months=whole_range(dataset),
        read=selection.read,
        removed=selection.removed,
    )
