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

import re
from collections.abc import Callable
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from pipelines.catalog import CityCatalog, Dataset, city_catalogs
from pipelines.connectors import ConnectorError, FileConnector
from pipelines.loader.common import table_columns
from pipelines.loader.file_index import indexed_files, select_files
from pipelines.loader.plan import (
    Extract,
    month_start,
    next_month,
    plan_bundled,
    this_month,
    whole_range,
)
from pipelines.loading import MonthRange, column_name
from pipelines.settings import SOURCES_DIR

__all__ = ["DataSources", "Extract", "whole_range"]


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
        connector = bundled_connector(dataset)
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
            if dataset.partitioning is not None and extract.months is None:
                # The months asked for are replaced; otherwise rows are dated over the whole
                # range (rows outside it are quarantined) and merged or replaced whole.
                extract.months = months or whole_range(dataset)
            return extract
        if dataset.bundled is None:
            raise ConnectorError(
                f"{city}.{name}: no bundled copy in sources/; load it from the portal with "
                "`civic run --live`"
            )
        connector = bundled_connector(dataset, known_catalog(city))
        return self.bundled_extract(con, connector, dataset, months)

    def bundled_extract(
        self,
        con: duckdb.DuckDBPyConnection,
        connector: FileConnector,
        dataset: Dataset,
        months: MonthRange | None,
    ) -> Extract:
        """Read only what changed since the table's last load (see the module doc)."""
        return plan_bundled(con, connector, dataset, months, self.full_refresh)


def bundled_connector(
    dataset: Dataset, catalog: CityCatalog | None = None, sources_dir: Path | None = None
) -> FileConnector:
    """The connector reading a dataset's bundled copy with its catalog reader options; with
    its `catalog`, a repeated column name is refused only when the catalog reads it."""
    bundled = dataset.bundled
    assert bundled is not None
    return FileConnector(
        sources_dir or SOURCES_DIR,
        bundled.path,
        bundled.format,
        delimiter=bundled.delimiter,
        skip_rows=bundled.skip_rows,
        reads=catalog_reads(catalog, dataset) if catalog is not None else None,
    )


def known_catalog(city: str) -> CityCatalog | None:
    """The shipped catalog of `city` (None for a catalog loaded from elsewhere, in tests)."""
    return next((c for c in city_catalogs() if c.city == city), None)


def catalog_reads(catalog: CityCatalog, dataset: Dataset) -> Callable[[str], bool]:
    """Whether the catalog reads a published column of `dataset`: mapped, filtered on, a
    number format, the month column, an unpivot group or pattern, or a city area list's
    id or name column."""
    names = {*dataset.columns.values(), *dataset.numbers, *(f.column for f in dataset.filters)}
    if dataset.partitioning is not None:
        names.add(dataset.partitioning.column)
    unpivot = dataset.unpivot
    if unpivot is not None:
        names.update(raw for group in unpivot.groups for raw in group.columns.values())
    for area_list in catalog.areas.values():
        listing = catalog.datasets.get(area_list.dataset or "")
        if listing is not None and listing.raw_table == dataset.raw_table:
            names.update(c for c in (area_list.id_column, area_list.name_column) if c)
    snake = {column_name(name) for name in names}
    pattern = re.compile(unpivot.pattern.columns) if unpivot and unpivot.pattern else None

    def reads(published: str) -> bool:
        raw = column_name(published)
        return published in names or raw in snake or bool(pattern and pattern.match(raw))

    return reads
