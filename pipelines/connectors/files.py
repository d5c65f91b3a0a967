"""Local CSV (optionally gzip-compressed), JSON and Parquet files, read by DuckDB's readers.

Several files matching one glob are one dataset: their columns are unioned by name, and each
row records the file it came from in `_source_file`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.connectors.base import ConnectorError

BATCH_ROWS = 100_000

READERS = {
    "csv": "read_csv($files, all_varchar = true, header = true, union_by_name = true, "
    "filename = '_source_file')",
    "parquet": "read_parquet($files, union_by_name = true, filename = '_source_file')",
    "json": "read_json($files, union_by_name = true, filename = '_source_file')",
}


@dataclass(frozen=True)
class FileConnector:
    """Reads `pattern` (a path or glob) under `root` in the given format."""

    root: Path
    pattern: str
    format: str

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

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.format not in READERS:
            raise ConnectorError(f"unsupported file format {self.format!r} for {self.pattern}")
        files = self.files()
        names = [str(path) for path in files]
        with duckdb.connect() as con:
            try:
                relation = con.sql(f"select * from {READERS[self.format]}", params={"files": names})
                # Every column as text, so raw tables hold values exactly as published.
                as_text = ", ".join(
                    f'cast("{column}" as varchar) as "{column}"'
                    for column in relation.columns
                    if column != "_source_file"
                )
                reader = con.sql(
                    f"select {as_text}, replace(_source_file, $root, '') as _source_file "
                    f"from {READERS[self.format]}",
                    params={"files": names, "root": f"{self.root}/"},
                ).to_arrow_reader(BATCH_ROWS)
                yield from reader
            except duckdb.Error as error:
                raise ConnectorError(
                    f"could not read {', '.join(p.name for p in files)} as {self.format}: {error}"
                ) from error
