"""Where a raw load reads from: the bundled copy in `sources/` or the live portal (`--live`).

A Dagster resource, so the choice is run configuration (`civic run --live` sets it) and the
assets stay the same. Live loads are incremental where the portal allows it: the watermark of
the last good load is read from the warehouse's `meta.load_log`.
"""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from dagster import ConfigurableResource

from pipelines.catalog import Dataset
from pipelines.connectors import Connector, ConnectorError, FileConnector
from pipelines.connectors.base import DuckDBScan
from pipelines.loading import MonthRange
from pipelines.settings import SOURCES_DIR


@dataclass
class Extract:
    """A connector ready to read, and how its rows must be written."""

    connector: Connector
    mode: str  # "bundled", "live full", "live incremental" or "live <months>"
    merge_key: str | None = None
    watermark: Callable[[], str | None] | None = None
    # An incremental load may find nothing new: that is "unchanged", not an empty source.
    unchanged_ok: bool = False

    def rows(self) -> DuckDBScan | Iterator[pa.RecordBatch] | None:
        """What to load: a query DuckDB runs itself when the connector offers one (local
        files), else the stream of batches; None when there is nothing to read."""
        if isinstance(self.connector, FileConnector):
            return self.connector.scan()
        batches = self.connector.batches()
        first = next(batches, None)
        return None if first is None else itertools.chain([first], batches)


class DataSources(ConfigurableResource):
    """Reads bundled copies (default) or, with `live`, the portals named in the catalogs."""

    live: bool = False

    def extract(
        self,
        con: duckdb.DuckDBPyConnection,
        city: str,
        name: str,
        dataset: Dataset,
        months: MonthRange | None,
    ) -> Extract:
        if self.live and dataset.portal.kind != "file":
            from pipelines.connectors.live import live_extract

            return live_extract(con, dataset, months)
        if dataset.bundled is None:
            raise ConnectorError(
                f"{city}.{name}: no bundled copy in sources/; load it from the portal with "
                "`civic run --live`"
            )
        bundled = dataset.bundled
        connector = FileConnector(
            SOURCES_DIR,
            bundled.path,
            bundled.format,
            delimiter=bundled.delimiter,
            skip_rows=bundled.skip_rows,
        )
        return Extract(connector, "bundled")
