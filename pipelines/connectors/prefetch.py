"""Live downloads spooled to disk BEFORE the warehouse writer lock is taken.

A slow portal must never hold the warehouse's single writer: `prefetched(...)` (entered by
`pipelines.runs.execute` before `warehouse_writer`) reads every selected live dataset from its
portal into a Parquet file under `<home>/prefetch-*/`, with the watermark of the last good load
read from the warehouse read-only. Inside the lock, `live_extract` takes the spooled file when
it was fetched for the same watermark and month filter (`take`); otherwise (the warehouse
changed meanwhile, or could not be read) it fetches from the portal as before.

A dataset whose download fails is remembered with its error, which its raw asset then reports
(the other datasets still load). The folder is removed when the run ends.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.catalog import Dataset
from pipelines.connectors.base import ConnectorError
from pipelines.connectors.spool import CHUNK_ROWS
from pipelines.loader.common import MonthRange
from pipelines.redaction import redact_exception

log = logging.getLogger("civic.connectors")


@dataclass
class Prefetched:
    raw_table: str
    since: str | None
    where: str | None
    path: Path | None  # None: the portal had nothing (new) to send
    source: str
    watermark: str | None
    error: BaseException | None = None


@dataclass
class PrefetchedConnector:
    """Yields the spooled batches of one prefetched dataset (a Connector)."""

    fetched: Prefetched

    @property
    def watermark(self) -> str | None:
        return self.fetched.watermark

    def source_uri(self) -> str:
        return self.fetched.source

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.fetched.path is not None:
            yield from pq.ParquetFile(self.fetched.path).iter_batches(batch_size=CHUNK_ROWS)


_fetched: dict[str, Prefetched] = {}


def take(raw_table: str, since: str | None, where: str | None) -> PrefetchedConnector | None:
    """The spooled download of `raw_table` if it was fetched for this watermark and filter."""
    fetched = _fetched.get(raw_table)
    if fetched is None or (fetched.since, fetched.where) != (since, where):
        return None
    if fetched.error is not None:
        raise fetched.error
    return PrefetchedConnector(fetched)


def watermarks(warehouse: Path) -> dict[str, str] | None:
    """The last stored watermark of every raw table, read-only; None if the file is busy."""
    if not warehouse.exists():
        return {}
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:  # a run is writing it: prefetching would guess the watermark
        return None
    with con:
        try:
            rows = con.execute(
                "select raw_table, arg_max(watermark, loaded_at) from meta.load_log "
                "where watermark is not null group by raw_table"
            ).fetchall()
        except duckdb.CatalogException:  # no load yet
            return {}
    return dict(rows)


def month_window(dataset: Dataset, first: str | None, last: str | None) -> MonthRange | None:
    """The months a run asks of a dated dataset, as the run itself reads them (None: none
    asked, the load is incremental from the watermark)."""
    from pipelines.sources import DataSources

    return DataSources(live=True, first_month=first, last_month=last).requested_months(dataset)


def spool(dataset: Dataset, since: str | None, months, folder: Path) -> Prefetched:  # noqa: ANN001
    from pipelines.connectors.live import live_connector

    connector, where = live_connector(dataset, months, since)
    path = folder / f"{dataset.raw_table}.parquet"
    writer: pq.ParquetWriter | None = None
    try:
        for batch in connector.batches():
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            writer.write_batch(batch, row_group_size=CHUNK_ROWS)
    finally:
        if writer is not None:
            writer.close()
    watermark = getattr(connector, "watermark", None)
    return Prefetched(
        dataset.raw_table,
        since,
        where,
        path if writer is not None else None,
        connector.source_uri(),
        watermark,
    )


def prefetch(
    datasets: Iterable[Dataset],
    warehouse: Path,
    folder: Path,
    first_month: str | None = None,
    last_month: str | None = None,
) -> dict[str, Prefetched]:
    """Download every live dataset of `datasets` into `folder`; what was fetched, by table."""
    marks = watermarks(warehouse)
    if marks is None:
        log.info("prefetch skipped: %s is being written; downloads happen in the run", warehouse)
        return {}
    fetched = {}
    for dataset in datasets:
        months = None
        if dataset.partitioning is not None:
            months = month_window(dataset, first_month, last_month)
            if months is not None and dataset.portal.kind != "socrata":
                continue  # the run refuses month loads from other portals; nothing to fetch
        since = None if months is not None else marks.get(dataset.raw_table)
        log.info("prefetching %s from %s ...", dataset.raw_table, dataset.portal.kind)
        try:
            fetched[dataset.raw_table] = spool(dataset, since, months, folder)
        except (ConnectorError, OSError) as error:
            redact_exception(error)
            where = None
            if months is not None:
                from pipelines.connectors.live import month_filter

                where = month_filter(dataset, months)
            fetched[dataset.raw_table] = Prefetched(
                dataset.raw_table, since, where, None, "", None, error
            )
    return fetched


def live_datasets(keys: Iterable[object]) -> list[Dataset]:
    """The catalog datasets whose raw asset keys are among `keys` (a run's selection)."""
    from pipelines.assets.raw import raw_asset_key
    from pipelines.catalog import city_catalogs

    wanted = set(keys)
    return [
        dataset
        for catalog in city_catalogs()
        for dataset in catalog.datasets.values()
        if raw_asset_key(dataset) in wanted
    ]


@contextmanager
def prefetched(
    datasets: Iterable[Dataset],
    home: Path,
    warehouse: Path,
    first_month: str | None = None,
    last_month: str | None = None,
) -> Iterator[dict[str, Prefetched]]:
    """Prefetch `datasets` for the duration of the block (the run), then remove the files."""
    datasets = [d for d in datasets if d.portal.kind != "file"]
    if not datasets:
        yield {}
        return
    home.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="prefetch-", dir=home))
    try:
        _fetched.update(prefetch(datasets, warehouse, folder, first_month, last_month))
        yield dict(_fetched)
    finally:
        _fetched.clear()
        shutil.rmtree(folder, ignore_errors=True)
