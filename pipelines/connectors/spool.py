"""Pages of JSON records -> text record batches, and spooling batches to disk.

Portal APIs answer a page of records (dicts) at a time. `text_batch` turns one page into a record
batch whose columns are all strings, exactly as published (objects and lists as compact JSON).
`ColumnGuard` holds a dataset's columns fixed across pages and names the page where they change.
`SpooledConnector` fetches every page to Parquet chunks on disk before yielding anything, so a
slow portal never holds the warehouse's single writer open and memory stays one chunk deep.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.connectors.base import Connector, ConnectorError

CHUNK_ROWS = 50_000


def as_text(value: Any) -> str | None:
    """A JSON value as published text: None stays null, objects and lists become JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def text_batch(columns: list[str], records: Iterable[Mapping[str, Any]]) -> pa.RecordBatch:
    """One record batch of string columns `columns` (missing keys are null)."""
    rows = list(records)
    arrays = [pa.array([as_text(row.get(name)) for row in rows], pa.string()) for name in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([(c, pa.string()) for c in columns]))


@dataclass
class ColumnGuard:
    """Remembers the first page's columns and refuses a page whose columns differ."""

    what: str
    columns: list[str] | None = None

    def check(self, columns: list[str], where: str) -> list[str]:
        if self.columns is None:
            self.columns = list(columns)
        elif list(columns) != self.columns:
            added = [c for c in columns if c not in self.columns]
            removed = [c for c in self.columns if c not in columns]
            raise ConnectorError(
                f"{self.what}: columns changed at {where} (added {added or 'none'}, "
                f"removed {removed or 'none'}; before: {self.columns}, after: {list(columns)}); "
                "the portal changed the dataset's schema during the load: re-run the load, and if "
                "it persists update the staging model for the new columns"
            )
        return self.columns


@dataclass
class SpooledConnector:
    """Wraps a connector: reads all its batches to Parquet on disk, then yields them back.

    Use it where fetching is slow and the consumer holds a resource (the warehouse writer) for
    as long as the iteration lasts. `watermark` is the wrapped connector's, once exhausted.
    """

    inner: Connector
    directory: Path | None = None
    chunk_rows: int = CHUNK_ROWS

    def source_uri(self) -> str:
        return self.inner.source_uri()

    @property
    def watermark(self) -> str | None:
        return getattr(self.inner, "watermark", None)

    def batches(self) -> Iterator[pa.RecordBatch]:
        with tempfile.TemporaryDirectory(prefix="civic-spool-", dir=self.directory) as folder:
            path = Path(folder) / "spool.parquet"
            writer: pq.ParquetWriter | None = None
            try:
                for batch in self.inner.batches():
                    if writer is None:
                        writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
                    elif batch.schema != writer.schema:
                        raise ConnectorError(
                            f"{self.source_uri()}: columns changed between batches "
                            f"({writer.schema.names} -> {batch.schema.names})"
                        )
                    writer.write_batch(batch, row_group_size=self.chunk_rows)
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                return
            yield from pq.ParquetFile(path).iter_batches(batch_size=self.chunk_rows)
