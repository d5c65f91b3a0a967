"""Write a connector's record batches into the warehouse's `raw` schema, atomically.

Rows stream into `raw.<table>__loading`; only when every batch has arrived does one
transaction put them in place. Three ways, chosen by the caller:

- full replace (default): the new rows replace `raw.<table>`;
- partitions: the rows replace the given months of a dated table (re-running a month replaces
  it exactly; rows whose date cannot be read are quarantined, never silently dropped);
- merge on a key: incremental loads replace the rows whose key arrived and keep the others.

The same transaction appends a line to `meta.load_log` (rows, scope, watermark), so the
watermark of an incremental load is stored with the data it describes. A failed or
interrupted load leaves the previous good data in place.

Row-level quarantine: the critical single-value rules of the table's quality suite
(`row_rules`, see `pipelines.quality.row_rules`) are evaluated in SQL on the staging table in
the same transaction; rows failing one are copied to `meta.quarantined_rows` (table, load id,
first failing rule, the row as JSON) and left out of the swap. A load whose every row is
quarantined fails instead of swapping in an empty table.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from pipelines.catalog import IDENTIFIER
from pipelines.connectors.base import DuckDBScan

if TYPE_CHECKING:
    from pipelines.quality.row_rules import RowRule

RAW_SCHEMA = "raw"
META_SCHEMA = "meta"
METADATA_COLUMNS = ("_source_file", "_load_id", "_loaded_at", "_partition")

META_DDL = """
create schema if not exists meta;
create table if not exists meta.load_log (
    raw_table varchar, load_id varchar, loaded_at timestamptz, mode varchar,
    scope varchar, rows bigint, watermark varchar, source varchar
);
create table if not exists meta.quarantined_rows (
    raw_table varchar, load_id varchar, rule varchar, row_values json, quarantined_at timestamptz
);
create table if not exists meta.check_results (
    raw_table varchar, check_name varchar, severity varchar, passed boolean,
    unexpected_count bigint, evaluated_at timestamptz, load_id varchar, detail varchar
);
"""


class LoadError(RuntimeError):
    """A dataset could not be written to the warehouse; previous data are untouched."""


@dataclass(frozen=True)
class MonthRange:
    """Months [start, end) of a dated table, read from `column` with strptime `format`."""

    column: str
    format: str
    start: date
    end: date
    # A load of the dataset's whole range: rows dated outside it are quarantined, since no
    # month load would ever pick them up.
    whole_range: bool = False

    def describe(self) -> str:
        return f"months {self.start:%Y-%m} to {self.end:%Y-%m} (exclusive)"


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows: int
    columns: list[str]
    load_id: str
    loaded_at: datetime
    quarantined: int = 0


def new_load_id() -> str:
    return uuid.uuid4().hex


def column_name(published: str) -> str:
    """Published column name -> snake_case SQL name ('Primary Type' -> 'primary_type')."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", published.strip())
    return re.sub(r"[^0-9a-z]+", "_", spaced.lower()).strip("_")


def renamed_schema(
    schema: pa.Schema, table: str, columns: Mapping[str, str] | None = None
) -> pa.Schema:
    """Mapped columns take their canonical names; the others become snake_case."""
    canonical_by_published = {published: name for name, published in (columns or {}).items()}
    missing = sorted(set(canonical_by_published) - set(schema.names))
    if missing:
        raise LoadError(
            f"raw.{table}: the source no longer has the mapped column(s) {missing} "
            f"(found: {schema.names}); the publisher renamed or removed them: update the "
            "catalog's `columns` mapping"
        )
    names = [
        name if name in METADATA_COLUMNS else canonical_by_published.get(name) or column_name(name)
        for name in schema.names
    ]
    if "" in names:
        raise LoadError(f"raw.{table}: a column has no usable name ({schema.names!r})")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise LoadError(
            f"raw.{table}: published columns collide after renaming: "
            f"{', '.join(duplicates)}; rename them in the catalog's column mapping"
        )
    return pa.schema([field.with_name(name) for field, name in zip(schema, names, strict=True)])


def load_raw_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    batches: Iterable[pa.RecordBatch] | DuckDBScan,
    load_id: str | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    months: MonthRange | None = None,
    merge_key: str | None = None,
    watermark: str | Callable[[], str | None] | None = None,
    source: str = "",
    row_rules: Sequence[RowRule] = (),
) -> LoadResult:
    """Put the batches in `raw.<table>` (see the module doc), or change nothing on failure.

    `row_rules`: the rules whose failing rows are quarantined instead of loaded, e.g.
    `row_rules(raw_suite(dataset))` from `pipelines.quality.row_rules`.
    """
    if not IDENTIFIER.match(table):
        raise LoadError(f"{table!r} is not a valid raw table name")
    if months and merge_key:
        raise LoadError(f"raw.{table}: load either months or merge on a key, not both")
    load_id = load_id or new_load_id()
    loaded_at = datetime.now(UTC).replace(microsecond=0)
    staging = f'{RAW_SCHEMA}."{table}__loading"'
    con.execute(f"create schema if not exists {RAW_SCHEMA}; {META_DDL}")
    try:
        schema = _stream_into(con, staging, table, batches, columns, load_id, loaded_at)
        partition_column = _partition_column(schema, months, columns)
        if partition_column:
            con.execute(
                f"alter table {staging} add column _partition date; "
                # The catalog's format for published files, ISO 8601 for portal APIs.
                f"update {staging} set _partition = date_trunc('month', coalesce("
                f'try_strptime("{partition_column}", $format), '
                f'try_cast("{partition_column}" as timestamp)))',
                {"format": months.format},
            )
        rows = con.execute(f"select count(*) from {staging}").fetchone()[0]
        if rows == 0 and not (months or merge_key):
            label = batches.label if isinstance(batches, DuckDBScan) else ""
            raise LoadError(
                f"raw.{table}: the source returned no rows{f' ({label})' if label else ''}; "
                "previous data kept"
            )
        con.execute("begin transaction")
        try:
            quarantined = 0
            if months:
                quarantined = _quarantine_undated(
                    con, staging, table, load_id, partition_column, months
                )
            failed_rules = _quarantine_rule_failures(
                con, staging, table, load_id, row_rules, months
            )
            quarantined += failed_rules
            _refuse_if_all_quarantined(
                con, staging, table, load_id, months, quarantined, failed_rules
            )
            if months:
                rows = _replace_months(con, staging, table, months)
            elif merge_key:
                rows = con.execute(f"select count(*) from {staging}").fetchone()[0]
                key = merge_key if merge_key in METADATA_COLUMNS else column_name(merge_key)
                _merge_on_key(con, staging, table, key)
            else:
                rows = con.execute(f"select count(*) from {staging}").fetchone()[0]
                con.execute(f'drop table if exists {RAW_SCHEMA}."{table}"')
                con.execute(f'alter table {staging} rename to "{table}"')
            mode = "months" if months else "merge" if merge_key else "replace"
            scope = months.describe() if months else "all"
            # A connector knows its new watermark only once every batch has been read.
            mark = watermark() if callable(watermark) else watermark
            con.execute(
                "insert into meta.load_log values (?, ?, ?, ?, ?, ?, ?, ?)",
                [table, load_id, loaded_at, mode, scope, rows, mark, source],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute(f"drop table if exists {staging}")
    return LoadResult(table, rows, _columns(con, table), load_id, loaded_at, quarantined)


def latest_watermark(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The watermark recorded by the last load of `raw.<table>` that stored one."""
    con.execute(META_DDL)
    row = con.execute(
        "select watermark from meta.load_log where raw_table = ? and watermark is not null "
        "order by loaded_at desc, rowid desc limit 1",
        [table],
    ).fetchone()
    return row[0] if row else None


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of raw.<table>, in order ([] when the table does not exist)."""
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, table],
        ).fetchall()
    ]


def _scan_into(con, staging, table, scan: DuckDBScan, columns, load_id, loaded_at) -> pa.Schema:
    """Create the staging table by running the connector's query inside the warehouse."""
    try:
        published = [row[0] for row in con.execute(f"describe {scan.sql}", scan.params).fetchall()]
        schema = renamed_schema(
            pa.schema([pa.field(name, pa.string()) for name in published]), table, columns
        )
        renames = ", ".join(
            f"{quote(old)} as {quote(new)}"
            for old, new in zip(published, schema.names, strict=True)
        )
        con.execute(
            f"create or replace table {staging} as select {renames}, "
            "$load_id as _load_id, $loaded_at::timestamptz as _loaded_at "
            f"from ({scan.sql})",
            {**scan.params, "load_id": load_id, "loaded_at": loaded_at},
        )
    except duckdb.Error as error:
        if scan.explain is not None:  # the connector knows its files: it names file and line
            reason = scan.explain(error)
        else:
            reason = str(error).strip().splitlines()[0]  # DuckDB appends pages of hints
        raise LoadError(
            f"raw.{table}: could not read the source ({reason}); previous data kept. "
            "Check that the file is well-formed (CSV: comma-separated, double-quoted, the same "
            "number of fields on every line), fix or restore it and re-run the load"
        ) from error
    return schema


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _stream_into(con, staging, table, batches, columns, load_id, loaded_at) -> pa.Schema:
    """Create the staging table from the batches; a source failure becomes a LoadError."""
    if isinstance(batches, DuckDBScan):
        return _scan_into(con, staging, table, batches, columns, load_id, loaded_at)
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None:
        raise LoadError(f"raw.{table}: the source returned no rows; previous data kept")
    schema = renamed_schema(first.schema, table, columns)
    source_errors: list[BaseException] = []

    def renamed() -> Iterator[pa.RecordBatch]:
        try:
            for batch in itertools.chain([first], iterator):
                if batch.schema.names != first.schema.names:
                    raise LoadError(
                        f"raw.{table}: columns changed between batches "
                        f"({first.schema.names} -> {batch.schema.names}); previous data kept"
                    )
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        except Exception as error:
            source_errors.append(error)  # DuckDB re-raises it wrapped, with a traceback
            raise

    con.register("incoming_batches", pa.RecordBatchReader.from_batches(schema, renamed()))
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
    finally:
        con.unregister("incoming_batches")
    return schema


def _partition_column(
    schema: pa.Schema, months: MonthRange | None, columns: Mapping[str, str] | None
) -> str | None:
    if months is None:
        return None
    renamed = renamed_schema(pa.schema([pa.field(months.column, pa.string())]), "", None)
    canonical = {published: name for name, published in (columns or {}).items()}
    name = canonical.get(months.column) or renamed.names[0]
    if name not in schema.names:
        raise LoadError(f"partition column {months.column!r} is not in the source")
    return name


def _check_same_columns(con, staging: str, table: str) -> None:
    existing = _columns(con, table)
    incoming = _columns(con, f"{table}__loading")
    if not existing:
        con.execute(f'create table {RAW_SCHEMA}."{table}" as select * from {staging} limit 0')
    elif existing != incoming:
        added = sorted(set(incoming) - set(existing))
        removed = sorted(set(existing) - set(incoming))
        raise LoadError(
            f"raw.{table}: the source's columns changed (added {added}, removed {removed}); "
            "previous data kept. Reload the whole dataset (full refresh) to accept the change."
        )


def _quarantine_undated(
    con, staging: str, table: str, load_id: str, column: str, months: MonthRange
) -> int:
    """Rows no month load will take go to meta.quarantined_rows, visibly, with the reason."""
    outside = "_partition < $start or _partition >= $end" if months.whole_range else "false"
    bounds = {"start": months.start, "end": months.end} if months.whole_range else {}
    rejected = f"from {staging} as r where _partition is null or {outside}"
    con.execute(
        "insert into meta.quarantined_rows "
        "select $table, $load_id, case when _partition is null then $unreadable "
        f"else $outside_rule end, to_json(r), now() {rejected}",
        {
            "table": table,
            "load_id": load_id,
            "unreadable": f"unreadable date in {column}",
            "outside_rule": f"{column} outside {months.describe()}",
            **bounds,
        },
    )
    return con.execute(f"select count(*) {rejected}", bounds).fetchone()[0]


def _in_scope(months: MonthRange | None) -> tuple[str, dict[str, object]]:
    """The staging rows this load puts in place: a month load's months, else every row."""
    if months is None:
        return "true", {}
    return "_partition >= $start and _partition < $end", {
        "start": months.start,
        "end": months.end,
    }


def _quarantine_rule_failures(
    con, staging: str, table: str, load_id: str, rules, months: MonthRange | None
) -> int:
    """Rows failing a row rule go to meta.quarantined_rows (first failing rule) and leave
    the staging table. Runs inside the load's transaction."""
    if not rules:
        return 0
    from pipelines.quality.row_rules import bad_row_predicates

    stored = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, f"{table}__loading"],
        ).fetchall()
    )
    predicates = bad_row_predicates(rules, table, stored)
    if not predicates.pairs:
        return 0
    scope, bounds = _in_scope(months)
    bad = " or ".join(predicate for _, predicate in predicates.pairs)
    names = {f"rule_name_{i}": name for i, (name, _) in enumerate(predicates.pairs)}
    first_failing = " ".join(
        f"when {predicate} then $rule_name_{i}" for i, (_, predicate) in enumerate(predicates.pairs)
    )
    where = f"where ({scope}) and ({bad})"
    con.execute(
        "insert into meta.quarantined_rows "
        f"select $table, $load_id, case {first_failing} end, to_json(r), now() "
        f"from {staging} as r {where}",
        {**predicates.parameters, **bounds, **names, "table": table, "load_id": load_id},
    )
    (removed,) = con.execute(
        f"delete from {staging} {where}", {**predicates.parameters, **bounds}
    ).fetchone()
    return int(removed)


def _refuse_if_all_quarantined(
    con,
    staging: str,
    table: str,
    load_id: str,
    months: MonthRange | None,
    quarantined: int,
    failed_rules: int,
) -> None:
    """Swapping in an empty table (or empty months) because every row was bad would hide
    the problem: fail, keep the previous data, and say which rules the rows failed."""
    if not quarantined:
        return
    scope, bounds = _in_scope(months)
    (kept,) = con.execute(f"select count(*) from {staging} where {scope}", bounds).fetchone()
    if kept:
        return
    if months and not failed_rules:
        # Only undated rows were set aside: fail only if no row had a date at all (a month
        # with no rows of its own is not an error; the undated rows are quarantined anyway).
        (dated,) = con.execute(
            f"select count(*) from {staging} where _partition is not null"
        ).fetchone()
        if dated:
            return
    by_rule = con.execute(
        "select rule, count(*), min(row_values::varchar) from meta.quarantined_rows "
        "where raw_table = ? and load_id = ? group by rule order by count(*) desc, rule",
        [table, load_id],
    ).fetchall()
    rules = ", ".join(f"{rule}: {count:,}" for rule, count, _ in by_rule)
    example = by_rule[0][2] if by_rule else ""
    example = example if len(example) <= 300 else example[:299] + "…"
    raise LoadError(
        f"raw.{table}: every row of the load ({quarantined:,}) failed a critical row rule "
        f"({rules}); previous data kept, nothing swapped in. Example row: {example}. Fix the "
        "source (or the rule in sources/quality/) and re-run the load"
    )


def _replace_months(con, staging: str, table: str, months: MonthRange) -> int:
    in_range = "_partition >= $start and _partition < $end"
    bounds = {"start": months.start, "end": months.end}
    if not _columns(con, table):  # first load: keep the months, rename (no second copy)
        con.execute(f"delete from {staging} where _partition is null or not ({in_range})", bounds)
        rows = con.execute(f"select count(*) from {staging}").fetchone()[0]
        con.execute(f'alter table {staging} rename to "{table}"')
        return rows
    _check_same_columns(con, staging, table)
    con.execute(f'delete from {RAW_SCHEMA}."{table}" where {in_range}', bounds)
    con.execute(
        f'insert into {RAW_SCHEMA}."{table}" select * from {staging} where {in_range}', bounds
    )
    return con.execute(f"select count(*) from {staging} where {in_range}", bounds).fetchone()[0]


def _merge_on_key(con, staging: str, table: str, key: str) -> None:
    if not _columns(con, table):  # first load: nothing to merge with, rename (no second copy)
        con.execute(f'alter table {staging} rename to "{table}"')
        return
    _check_same_columns(con, staging, table)
    con.execute(
        f'delete from {RAW_SCHEMA}."{table}" where "{key}" in (select "{key}" from {staging})'
    )
    con.execute(f'insert into {RAW_SCHEMA}."{table}" select * from {staging}')


def quarantine_summary(con: duckdb.DuckDBPyConnection, load_id: str) -> dict[str, int]:
    con.execute(META_DDL)
    return dict(
        con.execute(
            "select raw_table, count(*) from meta.quarantined_rows where load_id = ? group by 1",
            [load_id],
        ).fetchall()
    )
