"""Write a connector's record batches into the warehouse's `raw` schema, atomically.

Rows stream into `raw.<table>__loading`; only when every batch has arrived does one
transaction replace `raw.<table>`. A failed or interrupted load therefore leaves the previous
good table in place, and re-running a load replaces it exactly (no duplicated rows).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from pipelines.catalog import IDENTIFIER

RAW_SCHEMA = "raw"
METADATA_COLUMNS = ("_source_file", "_load_id", "_loaded_at")


class LoadError(RuntimeError):
    """A dataset could not be written to the warehouse; previous data are untouched."""


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows: int
    columns: list[str]
    load_id: str
    loaded_at: datetime


def new_load_id() -> str:
    return uuid.uuid4().hex


def column_name(published: str) -> str:
    """Published column name -> snake_case SQL name ('Primary Type' -> 'primary_type')."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", published.strip())
    return re.sub(r"[^0-9a-z]+", "_", spaced.lower()).strip("_")


def renamed_schema(schema: pa.Schema, table: str) -> pa.Schema:
    names = [name if name in METADATA_COLUMNS else column_name(name) for name in schema.names]
    if "" in names:
        raise LoadError(f"raw.{table}: a column has no usable name ({schema.names!r})")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise LoadError(
            f"raw.{table}: published columns collide after renaming to snake_case: "
            f"{', '.join(duplicates)}; rename them in the catalog's column mapping"
        )
    return pa.schema([field.with_name(name) for field, name in zip(schema, names, strict=True)])


def load_raw_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    batches: Iterable[pa.RecordBatch],
    load_id: str | None = None,
) -> LoadResult:
    """Replace `raw.<table>` with the given batches, or leave it untouched on any failure."""
    if not IDENTIFIER.match(table):
        raise LoadError(f"{table!r} is not a valid raw table name")
    load_id = load_id or new_load_id()
    loaded_at = datetime.now(UTC).replace(microsecond=0)
    staging = f'{RAW_SCHEMA}."{table}__loading"'
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None:
        raise LoadError(f"raw.{table}: the source returned no rows; previous data kept")
    schema = renamed_schema(first.schema, table)

    source_errors: list[BaseException] = []

    def renamed() -> Iterable[pa.RecordBatch]:
        try:
            for batch in itertools.chain([first], iterator):
                if batch.schema.names != first.schema.names:
                    raise LoadError(
                        f"raw.{table}: columns changed between batches "
                        f"({first.schema.names} -> {batch.schema.names})"
                    )
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        except Exception as error:
            source_errors.append(error)  # DuckDB re-raises it wrapped, with a traceback
            raise

    incoming = pa.RecordBatchReader.from_batches(schema, renamed())
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    try:
        con.register("incoming_batches", incoming)
        try:
            con.execute(
                f"create or replace table {staging} as "
                "select *, $load_id as _load_id, $loaded_at::timestamptz as _loaded_at "
                "from incoming_batches",
                {"load_id": load_id, "loaded_at": loaded_at},
            )
        except duckdb.Error as error:
            if not source_errors:
                raise
            cause = source_errors[0]
            if isinstance(cause, LoadError):
                raise cause from error
            raise LoadError(
                f"raw.{table}: loading stopped while reading the source "
                f"({type(cause).__name__}: {cause}); previous data kept, "
                "re-run the load once the source is readable"
            ) from cause
        rows = con.execute(f"select count(*) from {staging}").fetchone()[0]
        if rows == 0:
            raise LoadError(f"raw.{table}: the source returned no rows; previous data kept")
        _swap_in(con, staging, table)
    except BaseException:
        con.execute(f"drop table if exists {staging}")
        raise
    finally:
        con.unregister("incoming_batches")
    columns = [*schema.names, "_load_id", "_loaded_at"]
    return LoadResult(table, rows, columns, load_id, loaded_at)


def _swap_in(con: duckdb.DuckDBPyConnection, staging: str, table: str) -> None:
    """Replace the live table by the fully loaded one in a single transaction."""
    con.execute("begin transaction")
    try:
        con.execute(f'drop table if exists {RAW_SCHEMA}."{table}"')
        con.execute(f'alter table {staging} rename to "{table}"')
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
