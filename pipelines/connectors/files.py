"""Local CSV (optionally gzip-compressed), JSON and Parquet files, read by DuckDB's readers.

Several files matching one glob are one dataset: their columns are unioned by name, and each
row records the file it came from in `_source_file`.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.connectors.base import ConnectorError, DuckDBScan

BATCH_ROWS = 100_000

# The CSV dialect is pinned (RFC 4180): left to guess, DuckDB's sniffer may skip leading
# lines it finds inconsistent, silently dropping rows of a malformed file instead of failing.
READERS = {
    "csv": "read_csv($files, all_varchar = true, header = true, union_by_name = {union}, "
    "delim = ',', quote = '\"', escape = '\"', skip = 0, strict_mode = true, "
    "filename = '_source_file')",
    "parquet": "read_parquet($files, union_by_name = {union}, filename = '_source_file')",
    "json": "read_json($files, union_by_name = {union}, filename = '_source_file')",
}


@dataclass
class FileConnector:
    """Reads `pattern` (a path or glob) under `root` in the given format.

    Incremental: with `since` (a modification time as written to `watermark`), only files
    changed after it are read; load them merged on `_source_file` so a re-delivered file
    replaces its earlier rows. `watermark` is the newest modification time seen.
    """

    root: Path
    pattern: str
    format: str
    since: str | None = None
    watermark: str | None = field(default=None, init=False)

    @staticmethod
    def modified(path: Path) -> str:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="microseconds")

    def source_uri(self) -> str:
        return (self.root / self.pattern).as_uri()

    def files(self) -> list[Path]:
        found = sorted(self.root.glob(self.pattern))
        if not found:
            raise ConnectorError(
                f"no file matches {self.root / self.pattern}: check the catalog's bundled.path "
                "or restore the file from the repository"
            )
        return found

    def scan(self) -> DuckDBScan | None:
        """The query reading the (changed) files, every column as text; None if none changed."""
        if self.format not in READERS:
            raise ConnectorError(f"unsupported file format {self.format!r} for {self.pattern}")
        every_file = self.files()
        self.watermark = max(self.modified(path) for path in every_file)
        files = [p for p in every_file if self.since is None or self.modified(p) > self.since]
        if not files:
            return None
        # Unioning by name makes DuckDB sniff every file (as costly as reading them all); do
        # it only when the CSV headers differ.
        union = self.format != "csv" or len({csv_header(path) for path in files}) > 1
        reader = READERS[self.format].format(union="true" if union else "false")
        # Every column as text, so raw tables hold values exactly as published; one query
        # (COLUMNS keeps the names) so the reader is bound once.
        sql = (
            "select cast(columns(* exclude (_source_file)) as varchar), "
            f"replace(_source_file, $root, '') as _source_file from {reader}"
        )
        return DuckDBScan(sql, {"files": [str(p) for p in files], "root": f"{self.root}/"})

    def batches(self) -> Iterator[pa.RecordBatch]:
        scan = self.scan()
        if scan is None:
            return
        with duckdb.connect() as con:
            try:
                yield from con.sql(scan.sql, params=scan.params).to_arrow_reader(BATCH_ROWS)
            except duckdb.Error as error:
                raise ConnectorError(self.unreadable(scan, error)) from error

    def unreadable(self, scan: DuckDBScan, error: Exception) -> str:
        names = ", ".join(Path(name).name for name in scan.params["files"])
        return f"could not read {names} as {self.format}: {error}"


def csv_header(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as file:
        return file.readline().strip()
