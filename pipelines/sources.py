"""Where a raw load reads from, and what it reads: the bundled copy in `sources/` or the portal.

A Dagster resource, so the choice is run configuration (`civic run --live` sets it) and the
assets stay the same. The months a run loads are run configuration too (`first_month`,
`last_month`: `civic backfill`, the schedules), not Dagster partitions: planning a run then
costs the same whatever the history, one asset per dataset.

Every load is incremental where the source allows it:

- bundled files: the file index of the last good load (`meta.source_files`) says which files
  the table holds; unchanged files are not read again, new or changed ones are read alone
  and replace their own rows, a month load reads only the files covering its months;
- live portals: the watermark of the last good load (`meta.load_log`), see
  `pipelines.connectors.live`.

`full_refresh` reads everything again and replaces whole tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
from dagster import ConfigurableResource

from pipelines.catalog import Dataset
from pipelines.connectors import Connector, ConnectorError, FileConnector
from pipelines.connectors.base import DuckDBScan
from pipelines.loader.common import table_columns
from pipelines.loader.file_index import indexed_files, select_files
from pipelines.loading import MonthRange
from pipelines.settings import SOURCES_DIR


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_start(value: str) -> date:
    """'2022-01' or '2022-01-01' -> date(2022, 1, 1)."""
    year, month = value.split("-")[:2]
    return date(int(year), int(month), 1)


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


class DataSources(ConfigurableResource):
    """Reads bundled copies (default) or, with `live`, the portals named in the catalogs."""

    live: bool = False
    # Months of dated datasets to (re)load, YYYY-MM, inclusive; unset: incremental.
    first_month: str | None = None
    last_month: str | None = None
    full_refresh: bool = False  # read everything, replace whole tables
    allow_shrink: bool = False  # accept a load that empties or guts what it replaces

    def requested_months(self, dataset: Dataset) -> MonthRange | None:
        """The months this run replaces, clipped to the dataset's start (None: none asked)."""
        spec = dataset.partitioning
        if spec is None or not (self.first_month or self.last_month):
            return None
        first = month_start(self.first_month) if self.first_month else spec.start_date
        last = month_start(self.last_month) if self.last_month else this_month()
        return MonthRange(spec.column, spec.format, max(first, spec.start_date), next_month(last))

    def unchanged(self, con: duckdb.DuckDBPyConnection, dataset: Dataset) -> bool:
        """True when this run would find the dataset's bundled files as its table holds them
        (so the run need not even plan its load). Live, month and full-refresh runs read."""
        if self.live or self.full_refresh or self.first_month or self.last_month:
            return False
        if dataset.bundled is None or not table_columns(con, dataset.raw_table):
            return False
        connector = FileConnector(SOURCES_DIR, dataset.bundled.path, dataset.bundled.format)
        try:
            on_disk = connector.on_disk()
        except ConnectorError:
            return False  # the load itself will say what is wrong
        known = indexed_files(con, dataset.raw_table)
        return bool(known) and select_files(on_disk, known).unchanged

    def extract(
        self, con: duckdb.DuckDBPyConnection, city: str, name: str, dataset: Dataset
    ) -> Extract:
        months = self.requested_months(dataset)
        if self.live and dataset.portal.kind != "file":
            from pipelines.connectors.live import live_extract

            extract = live_extract(con, dataset, months)
            if extract.months is None and dataset.partitioning is not None:
                extract.months = whole_range(dataset)  # rows are dated, outside quarantined
            elif extract.months is None:
                extract.months = months
            return extract
        if dataset.bundled is None:
            raise ConnectorError(
                f"{city}.{name}: no bundled copy in sources/; load it from the portal with "
                "`civic run --live`"
            )
        connector = FileConnector(SOURCES_DIR, dataset.bundled.path, dataset.bundled.format)
        return self.bundled_extract(con, connector, dataset, months)

    def bundled_extract(
        self,
        con: duckdb.DuckDBPyConnection,
        connector: FileConnector,
        dataset: Dataset,
        months: MonthRange | None,
    ) -> Extract:
        """Read only what changed since the table's last load (see the module doc)."""
        on_disk = connector.on_disk()
        dated = dataset.partitioning is not None
        known = {}
        if not self.full_refresh and table_columns(con, dataset.raw_table):
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
        return Extract(
            connector,
            f"bundled, {selection.reason}",
            merge_key="_source_file",
            months=whole_range(dataset),
            read=selection.read,
            removed=selection.removed,
        )


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
