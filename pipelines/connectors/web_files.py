"""Plain files published over HTTP: CSV (optionally gzip), JSON, Parquet, Excel.

The body is streamed to a temporary file (never held in memory), then read in batches: CSV,
JSON and Parquet with DuckDB's readers, every value cast to text; Excel with polars' calamine
engine (the `fastexcel` package), one sheet. The temporary file is removed when the batches
are exhausted or abandoned.

Incremental loads use HTTP validators: `since` is the `Last-Modified` date of the previous
download, sent as `If-Modified-Since`; a `304 Not Modified` yields nothing. `watermark` is the
new `Last-Modified` (or the old one when the server sends none).
"""

from __future__ import annotations

import logging
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.files import READERS as FILE_READERS
from pipelines.connectors.files import FileConnector
from pipelines.connectors.http import HttpClient, HttpStatusError, RetryPolicy, secret_from_env
from pipelines.connectors.limits import Limits

log = logging.getLogger("civic.connectors")

BATCH_ROWS = 100_000
# The CSV dialect is pinned exactly as for bundled files (RFC 4180, `files.READERS`): a guessed
# dialect turns one ragged row into a one-column table instead of an error naming the line.
READERS = {
    "csv": FILE_READERS["csv"]
    .format(union="false")
    .replace("$files", "$file")
    .replace(", filename = '_source_file'", ""),
    "json": "read_json($file)",
    "parquet": "read_parquet($file)",
}
SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".geojson": "json",
    ".parquet": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}
EXCEL_DEPENDENCY = "fastexcel>=0.21"


def guess_format(url: str) -> str | None:
    """The file format a URL's path suggests (`.csv.gz` is csv), or None."""
    path = urllib.parse.urlsplit(url).path.lower().removesuffix(".gz")
    return SUFFIXES.get(Path(path).suffix)


class WebFileConnector:
    """One file at `url`, e.g. `WebFileConnector("https://fred.../fredgraph.csv?id=X", "csv")`.

    - `format`: csv, json, parquet or excel (guessed from the URL's extension when omitted).
    - `sheet`: the Excel sheet name (default: the first sheet).
    - `token_env` / `token_header`: a credential from the environment, sent as that header.
    """

    def __init__(
        self,
        url: str,
        format: str | None = None,
        *,
        name: str | None = None,
        since: str | None = None,
        sheet: str | None = None,
        token_env: str | None = None,
        token_header: str = "Authorization",
        batch_rows: int = BATCH_ROWS,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        temp_dir: Path | None = None,
    ) -> None:
        self.url = url
        self.format = format or guess_format(url)
        if self.format not in {*READERS, "excel"}:
            raise ConnectorError(
                f"cannot tell the file format of {url} ({format!r}); set the catalog's format to "
                "csv, json, parquet or excel"
            )
        self.name = name or Path(urllib.parse.urlsplit(url).path).name or url
        self.since = since
        self.sheet = sheet
        self.batch_rows = batch_rows
        self.temp_dir = temp_dir
        token = secret_from_env(token_env)
        self.client = HttpClient(
            secret_headers={token_header: token} if token else {},
            secrets=(token,) if token else (),
            policy=retry or RetryPolicy(),
            limits=limits or Limits(),
            secret_origin=url,
        )
        self.watermark: str | None = since

    @property
    def what(self) -> str:
        return f"file {self.name}"

    def source_uri(self) -> str:
        return self.client.redact(self.url)

    def batches(self) -> Iterator[pa.RecordBatch]:
        self.watermark = self.since
        suffix = ".gz" if urllib.parse.urlsplit(self.url).path.endswith(".gz") else ""
        extension = {"excel": ".xlsx"}.get(self.format, f".{self.format}")
        with tempfile.TemporaryDirectory(prefix="civic-download-", dir=self.temp_dir) as folder:
            path = Path(folder) / f"download{extension}{suffix}"
            conditional = {"If-Modified-Since": self.since} if self.since else {}
            try:
                response = self.client.download(self.url, path, what=self.what, headers=conditional)
            except HttpStatusError as error:
                if error.status == 304:
                    log.info("%s: not modified since %s, nothing to fetch", self.what, self.since)
                    return
                raise
            log.info(
                "%s: downloaded %d bytes from %s", self.what, path.stat().st_size, self.source_uri()
            )
            modified = response.headers.get("Last-Modified")
            if self.format == "excel":
                yield from self._excel(path)
            else:
                yield from self._duckdb(path)
        self.watermark = modified or self.since

    def _duckdb(self, path: Path) -> Iterator[pa.RecordBatch]:
        reader_sql = READERS[self.format]
        local = FileConnector(path.parent, path.name, self.format)
        try:
            local.refuse_non_data(path)  # HTML or empty, whatever the Content-Type said
        except ConnectorError as error:
            raise ConnectorError(
                f"{self.what} from {self.source_uri()}: {str(error).removeprefix(path.name + ' ')}"
            ) from None
        # A download has no description lines, and a comma (the bundled reader's parameters).
        params = {"file": str(path)} | ({"delim": ",", "skip": 0} if self.format == "csv" else {})
        with duckdb.connect() as con:
            try:
                relation = con.sql(f"select * from {reader_sql}", params=params)
                as_text = ", ".join(
                    _as_text(column, str(kind))
                    for column, kind in zip(relation.columns, relation.types, strict=True)
                )
                reader = con.sql(
                    f"select {as_text} from {reader_sql}", params=params
                ).to_arrow_reader(self.batch_rows)
                yield from reader
            except duckdb.Error as error:
                # `explain` names the first line that breaks the pinned dialect (ragged rows).
                reason = local.explain(error).removeprefix(f"{path.name}: ")
                raise ConnectorError(
                    f"{self.what}: could not read the download from {self.source_uri()} as "
                    f"{self.format}: {reason}; check the catalog's format or open the URL"
                ) from None

    def _excel(self, path: Path) -> Iterator[pa.RecordBatch]:
        try:
            import fastexcel  # noqa: F401  (polars' calamine engine)
            import polars as pl
        except ImportError as error:
            raise ConnectorError(
                f"{self.what}: reading Excel needs the `{EXCEL_DEPENDENCY}` package, which is not "
                "installed; add it to the project's dependencies"
            ) from error
        try:
            frame = pl.read_excel(
                path,
                sheet_name=self.sheet,
                engine="calamine",
                infer_schema_length=0,  # every column as text
            )
        except Exception as error:  # calamine raises its own exception types
            raise ConnectorError(
                f"{self.what}: could not read sheet {self.sheet or '(first)'} of the workbook "
                f"from {self.source_uri()}: {error}"
            ) from error
        table = frame.select(pl.all().cast(pl.String)).to_arrow()
        table = table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))
        yield from table.to_batches(max_chunksize=self.batch_rows)


def _as_text(column: str, kind: str) -> str:
    """SQL for one column as text: nested values as JSON, scalars cast to varchar."""
    quoted = '"' + column.replace('"', '""') + '"'
    nested = kind.startswith(("STRUCT", "MAP", "UNION")) or kind.endswith("]")
    value = f"to_json({quoted})::varchar" if nested else f"cast({quoted} as varchar)"
    return f"{value} as {quoted}"
