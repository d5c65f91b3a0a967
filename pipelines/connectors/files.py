"""Local CSV (optionally gzip-compressed), JSON and Parquet files, read by DuckDB's readers.

Several files matching one glob are one dataset: their columns are unioned by name (only when
their headers differ), and each row records the file it came from in `_source_file`.

Before anything is read, every file is vetted: it must lie inside the folder it is read from
(a symlink pointing elsewhere is refused), not be empty or an HTML page, and a CSV header must
not repeat a column name. Text files are scanned for control characters (NUL and the other
C0 codes but tab and line ends) at byte level, which costs a fraction of parsing; the loader
then checks the rows of the flagged files only and quarantines those holding one.
"""

from __future__ import annotations

import csv
import gzip
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.connectors.base import ConnectorError, DuckDBScan

log = logging.getLogger("civic.connectors")

BATCH_ROWS = 100_000
SCAN_CHUNK_BYTES = 16 * 1024 * 1024
# Bytes a text file must not hold: C0 controls but tab, line feed, carriage return; and DEL.
CONTROL_BYTES = bytes([*(b for b in range(32) if b not in (9, 10, 13)), 127])
OTHER_BYTES = bytes(b for b in range(256) if b not in CONTROL_BYTES)
# The longest CSV line read (DuckDB's default, pinned so an upgrade cannot change it): a
# longer line (e.g. a 20 MB field) fails the load with the file and the sizes named; it is
# never cut. Parquet and JSON values have no such limit (JSON objects: DuckDB's 16 MB).
MAX_LINE_BYTES = 2_000_000
SNIFF_BYTES = 1024  # bytes read from the start of each file to recognise an HTML page
DIAGNOSED_LINES = 5_000_000  # a malformed CSV is searched this far for the first bad line

# The CSV dialect is pinned (RFC 4180): left to guess, DuckDB's sniffer may skip leading
# lines it finds inconsistent, silently dropping rows of a malformed file instead of failing.
READERS = {
    "csv": "read_csv($files, all_varchar = true, header = true, union_by_name = {union}, "
    "delim = $delim, quote = '\"', escape = '\"', skip = $skip, strict_mode = true, "
    f"max_line_size = {MAX_LINE_BYTES}, filename = '_source_file')",
    "parquet": "read_parquet($files, union_by_name = {union}, filename = '_source_file')",
    "json": "read_json($files, union_by_name = {union}, filename = '_source_file')",
}


@dataclass(frozen=True)
class FileSet:
    """The files of a dataset on disk (relative name -> size, modification time), which of
    them a scan reads, and which indexed files are gone (for `meta.source_files`)."""

    on_disk: dict[str, tuple[int, str]]
    read: list[str]
    removed: list[str] = field(default_factory=list)

    @property
    def replaced(self) -> list[str]:
        return sorted({*self.read, *self.removed})


@dataclass(frozen=True)
class FileScan(DuckDBScan):
    """A scan of local files: which ones, and which hold control characters."""

    files: FileSet | None = field(default=None, compare=False)
    flagged: list[str] | None = field(default=None, compare=False)  # None: not scanned


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
    delimiter: str = ","  # CSV only: the catalog's bundled.delimiter (e.g. a tab)
    skip_rows: int = 0  # CSV only: description lines above the header
    # Whether the catalog reads a published column (None: assume every column is read). A
    # repeated header name is refused only when it is read; unread copies are kept, renamed.
    reads: Callable[[str], bool] | None = field(default=None, compare=False)
    watermark: str | None = field(default=None, init=False)

    @staticmethod
    def modified(path: Path) -> str:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="microseconds")

    def source_uri(self) -> str:
        return (self.root / self.pattern).as_uri()

    def files(self) -> list[Path]:
        """Every file the pattern matches, each checked to lie inside `root`."""
        found = sorted(self.root.glob(self.pattern))
        if not found:
            raise ConnectorError(
                f"no file matches {self.root / self.pattern}: check the catalog's bundled.path "
                "or restore the file from the repository"
            )
        inside = self.root.resolve()
        for path in found:
            target = path.resolve()
            if not target.is_relative_to(inside):
                raise ConnectorError(
                    f"{self.relative(path)} resolves to {target}, outside {inside}: a symlink "
                    "(or a path) pointing out of the folder data are read from is refused. "
                    "Copy the file into the folder instead, and re-run the load"
                )
        return found

    def on_disk(self, paths: list[Path] | None = None) -> dict[str, tuple[int, str]]:
        """Relative name -> (size, modification time) of every matching file."""
        found = {}
        for path in paths if paths is not None else self.files():
            stat = path.stat()
            found[self.relative(path)] = (stat.st_size, self.modified(path))
        return found

    def scan(
        self, read: list[str] | None = None, removed: list[str] | None = None
    ) -> FileScan | None:
        """The query reading the files, every column as text; None if none changed.

        `read`: the relative names to read (default: every file, or with `since` those
        changed after it); `removed`: indexed files gone from disk (their rows go too).
        """
        if self.format not in READERS:
            raise ConnectorError(f"unsupported file format {self.format!r} for {self.pattern}")
        every_file = self.files()
        self.watermark = max(self.modified(path) for path in every_file)
        if read is not None:
            wanted = set(read)
            files = [p for p in every_file if self.relative(p) in wanted]
        else:
            files = [p for p in every_file if self.since is None or self.modified(p) > self.since]
        if not files:
            return None
        for path in files:
            self.refuse_non_data(path)
        headers = (
            [csv_header(path, self.skip_rows) for path in files] if self.format == "csv" else []
        )
        for path, header in zip(files, headers, strict=False):
            self.refuse_repeated_columns(path, header)
        flagged = None
        if self.format in {"csv", "json"}:
            flagged = [self.relative(p) for p in files if holds_control_bytes(p)]
        # Unioning by name makes DuckDB sniff every file (as costly as reading them all); do
        # it only when the CSV headers differ.
        union = self.format != "csv" or len(set(headers)) > 1
        reader = READERS[self.format].format(union="true" if union else "false")
        # Every column as text, so raw tables hold values exactly as published; one query
        # (COLUMNS keeps the names) so the reader is bound once.
        sql = (
            "select cast(columns(* exclude (_source_file)) as varchar), "
            f"replace(_source_file, $root, '') as _source_file from {reader}"
        )
        names = [self.relative(p) for p in files]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        csv_options = {"delim": self.delimiter, "skip": self.skip_rows}
        return FileScan(
            sql,
            {"files": [str(p) for p in files], "root": f"{self.root}/"}
            | (csv_options if self.format == "csv" else {}),
            label=shown,
            explain=self.explain,
            files=FileSet(self.on_disk(every_file), names, sorted(removed or [])),
            flagged=flagged,
        )

    def refuse_repeated_columns(self, path: Path, header: str) -> None:
        """DuckDB would rename a repeated name (`name`, `name_1`): which copy the catalog
        means cannot be known, so a file repeating a column the catalog reads is refused,
        naming the columns. Repeated columns it does not read are kept as DuckDB names them
        (e.g. a census table repeating a subtotal), and said in the log."""
        names = next(csv.reader([header], delimiter=self.delimiter), [])
        repeated = sorted({name for name in names if names.count(name) > 1})
        unread = [name for name in repeated if self.reads is not None and not self.reads(name)]
        if unread:
            log.warning(
                "%s: the header repeats column name(s) %s, which the catalog does not read; "
                "their later copies are loaded with a numbered suffix (_1, _2...)",
                self.relative(path),
                unread,
            )
        repeated = [name for name in repeated if name not in unread]
        if repeated:
            raise ConnectorError(
                f"{self.relative(path)}: the header repeats column name(s) {repeated}; which "
                "column is meant cannot be known. Rename the repeated columns in the file and "
                "re-run the load"
            )

    def relative(self, path: Path | str) -> str:
        path = Path(path)
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else path.name

    def refuse_non_data(self, path: Path) -> None:
        """An empty file or an HTML page (an error page saved in place of the data) would
        otherwise read as an empty or one-column table: refuse it, naming the file."""
        name = self.relative(path)
        if path.stat().st_size == 0:
            raise ConnectorError(
                f"{name} is empty (0 bytes), not {self.format}: a failed download or copy? "
                "Restore the file and re-run the load"
            )
        if self.format == "parquet":
            return
        start = head(path, SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
        if start.lower().startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
            title = re.search(rb"<title[^>]*>(.*?)</title", start, re.DOTALL | re.IGNORECASE)
            shown = f" ({title.group(1).decode(errors='replace').strip()[:80]!r})" if title else ""
            raise ConnectorError(
                f"{name} is an HTML page{shown}, not {self.format}: an error or login page "
                "saved in place of the data? Restore the file and re-run the load"
            )

    def explain(self, error: BaseException) -> str:
        """A DuckDB reader error as one line: the file, the reason, and for a CSV whose
        dialect could not be read, the first line that breaks RFC 4180."""
        lines = str(error).strip().splitlines()
        found = (FILE_IN_ERROR.search(line) for line in lines)
        path = next((m.group(1) or m.group(2) for m in found if m), None)
        reason = " ".join(reason_lines(lines))
        name = self.relative(path) if path else None
        if self.format == "csv" and path and "sniffing" in reason:
            reason = csv_problem(Path(path), self.delimiter, self.skip_rows) or reason
        elif self.format == "csv" and path and "not utf-8" in reason.lower():
            reason = (csv_problem(Path(path), self.delimiter, self.skip_rows) or reason) + (
                ": re-save it as UTF-8 (Latin-1 or Windows-1252 bytes are not guessed)"
            )
        reason = reason if len(reason) <= 400 else reason[:399] + "…"
        return f"{name}: {reason}" if name else reason

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


FILE_IN_ERROR = re.compile(r'^\s*file = (.+?)\s*$|\bfile "([^"]+)"')


def reason_lines(lines: list[str]) -> Iterator[str]:
    """The lines of a DuckDB error that say what is wrong (not the hints, the reader's
    options, the query or the offending line itself, which may be megabytes long)."""
    for line in lines:
        text = line.strip()
        if text.startswith(("Possible", "LINE 1:", "file =", "The search space")):
            return
        if not text or text.startswith("Original Line:"):
            continue
        yield text.removeprefix("Invalid Input Error: ")[:300]


def holds_control_bytes(path: Path) -> bool:
    """Whether the (decompressed) bytes of a text file hold a control character."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            while chunk := file.read(SCAN_CHUNK_BYTES):
                if chunk.translate(None, OTHER_BYTES):
                    return True
    except (OSError, EOFError):  # not really gzip: the reader will say so
        return False
    return False


def head(path: Path, size: int) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            return file.read(size)
    except (OSError, EOFError):  # not really gzip: the reader will say so
        return b""


def csv_problem(path: Path, delimiter: str = ",", skip_rows: int = 0) -> str | None:
    """The first RFC 4180 violation of a CSV file, e.g. 'line 3: 3 fields, the header has 2'."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as file:
            for _ in range(skip_rows):
                file.readline()
            reader = csv.reader(file, delimiter=delimiter, strict=True)
            header = next(reader, [])
            for number, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    return (
                        f"line {reader.line_num + skip_rows}: {len(row)} fields, "
                        f"the header has {len(header)}"
                    )
                if number > DIAGNOSED_LINES:
                    return None
    except csv.Error as error:
        return f"line {reader.line_num + skip_rows}: {error} (a quote opened and never closed?)"
    except UnicodeDecodeError:
        return not_utf8(path)
    except (OSError, EOFError) as error:
        return f"cannot be read: {error}"
    return None


def not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8: the first line that does not decode."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return f"not UTF-8 (byte 0x{line[error.start]:02x} on line {number})"
    return "not UTF-8"


def csv_header(path: Path, skip_rows: int = 0) -> str:
    """The header line, below `skip_rows` description lines."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as file:
        for _ in range(skip_rows):
            file.readline()
        return file.readline().strip()
