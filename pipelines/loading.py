"""Write a connector's rows into the warehouse's `raw` schema: checked first, then swapped in.

A load has three steps, and nothing is replaced until the last one:

1. **Stage in one pass** (`pipelines.loader.staging`): the source (a DuckDB query over local
   files, run inside the warehouse, or Arrow batches from a portal) is read into
   `raw.<table>__loading`, each row dated and marked with the first row rule it fails.
2. **Check the staged rows** (in the load's transaction): marked rows move to
   `meta.quarantined_rows` (table, load id, rule, the row as JSON); number columns must fit
   their stated or detected format (`pipelines.loader.numbers`); the suite's table-level
   rules (required columns, keys, row count, and the rows this load would replace against
   the rows it brings) are judged on what would be swapped in. A critical rule that fails
   refuses the load: the previous data stay, byte for byte. A load that would empty or gut a
   table (or a month) is refused unless the operator allows it (`allow_shrink`).
3. **Swap** (`pipelines.loader.swap`): replace the table, or exactly the loaded months, or
   the rows of the changed keys or files, and in the same transaction append to
   `meta.load_log` (rows, scope, watermark), `meta.check_results` and, for local files,
   `meta.source_files` (which files the table now holds, `pipelines.loader.file_index`).

A failed or interrupted load leaves the previous good data in place.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from pipelines.catalog import IDENTIFIER, NumberFormat
from pipelines.connectors.base import DuckDBScan
from pipelines.loader.common import (
    META_DDL,
    META_SCHEMA,
    METADATA_COLUMNS,
    RAW_SCHEMA,
    REJECTED,
    LoadError,
    LoadResult,
    MonthRange,
    column_name,
    quote,
    renamed_schema,
    table_columns,
)
from pipelines.loader.file_index import forget_files, record_files
from pipelines.loader.staging import StagingQuery, staging_query, strip_control_characters
from pipelines.loader.swap import WriteMode, rows_replaced, swap

if TYPE_CHECKING:
    from pipelines.quality.row_rules import RowRule
    from pipelines.quality.suites import Suite

__all__ = [
    "META_DDL",
    "META_SCHEMA",
    "METADATA_COLUMNS",
    "RAW_SCHEMA",
    "LoadError",
    "LoadResult",
    "MonthRange",
    "column_name",
    "latest_watermark",
    "load_raw_table",
    "new_load_id",
    "quarantine_summary",
    "quote",
    "renamed_schema",
]


def new_load_id() -> str:
    return uuid.uuid4().hex


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
    suite: Suite | None = None,
    numbers: Mapping[str, NumberFormat] | None = None,
    allow_shrink: bool = False,
) -> LoadResult:
    """Put the rows in `raw.<table>` (see the module doc), or change nothing and raise.

    `suite`: the table's quality suite (`raw_suite(dataset)`): its critical single-value
    rules quarantine rows, its table-level rules are judged before the swap, every rule's
    result is returned in `LoadResult.checks`. Without it, `row_rules` alone quarantine.
    `merge_key="_source_file"` with a file scan replaces the rows of the files it read or
    found removed. `numbers`: published column -> its stated number format.
    """
    if not IDENTIFIER.match(table):
        raise LoadError(f"{table!r} is not a valid raw table name")
    if months and merge_key and not months.whole_range:
        raise LoadError(
            f"raw.{table}: a merge on a key dates rows over the whole range, not some months"
        )
    load_id = load_id or new_load_id()
    loaded_at = datetime.now(UTC).replace(microsecond=0)
    staging = f'{RAW_SCHEMA}."{table}__loading"'
    con.execute(f"create schema if not exists {RAW_SCHEMA}; {META_DDL}")
    rule_names = [r.name for r in row_rules]
    if suite is not None:
        from pipelines.quality.row_rules import row_rules as suite_row_rules

        rule_names = [r.name for r in suite_row_rules(suite)]
        # The row rules need the readings of their columns, which the suite has.
    elif row_rules:
        suite = _suite_of_row_rules(table, row_rules)
    # Raw tables are sets: not keeping the source's row order lets DuckDB write in parallel.
    con.execute("set preserve_insertion_order = false")
    try:
        staged = _stage(
            con,
            staging,
            table,
            batches,
            columns,
            load_id,
            loaded_at,
            suite,
            rule_names,
            months,
            numbers or {},
        )
        key = merge_key if merge_key in (None, *METADATA_COLUMNS) else column_name(merge_key)
        files = getattr(batches, "files", None)
        mode = WriteMode(
            months=months,
            merge_key=key,
            files=files.replaced if files is not None and key == "_source_file" else None,
        )
        return _check_and_swap(
            con,
            staging,
            table,
            staged,
            mode,
            load_id,
            loaded_at,
            suite,
            batches,
            watermark,
            source,
            allow_shrink,
        )
    finally:
        con.execute(f"drop table if exists {staging}")
        con.execute("reset preserve_insertion_order")


def _suite_of_row_rules(table: str, rules: Sequence[RowRule]) -> Suite:
    from pipelines.quality.suites import Suite

    readings: dict = {}
    for rule in rules:
        readings.update(rule.readings)
    return Suite(
        schema_name=RAW_SCHEMA,
        table=table,
        columns=readings,
        rules=tuple(rule.rule for rule in rules),
        files=(),
    )


@dataclass
class Staged:
    """The staging table just written: its columns and what its `_rejected` may hold."""

    query: StagingQuery
    names: list[str]
    stored: dict[str, str]
    published: dict[str, str]  # staged name -> published name
    rule_names: list[str]
    months: MonthRange | None
    parameters: dict[str, object] = field(default_factory=dict)  # the control check's

    @property
    def partition(self) -> str | None:
        return self.query.partition


def _stage(
    con, staging, table, batches, columns, load_id, loaded_at, suite, rule_names, months, numbers
) -> Staged:
    """Create the staging table in one pass; a source failure becomes a LoadError."""
    if isinstance(batches, DuckDBScan):
        return _stage_scan(
            con,
            staging,
            table,
            batches,
            columns,
            load_id,
            loaded_at,
            suite,
            rule_names,
            months,
            numbers,
        )
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

    stored = {
        f.name: "VARCHAR"
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        else str(f.type).upper()
        for f in schema
    }
    source_sql = (
        "select *, $load_id as _load_id, $loaded_at::timestamptz as _loaded_at "
        "from incoming_batches"
    )
    query = _query(
        table,
        source_sql,
        schema.names,
        stored,
        suite,
        rule_names,
        months,
        columns,
        numbers,
        control_check="all",
    )
    con.register("incoming_batches", pa.RecordBatchReader.from_batches(schema, renamed()))
    try:
        con.execute(
            f"create or replace table {staging} as {query.sql}",
            {**query.parameters, "load_id": load_id, "loaded_at": loaded_at},
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
    published = dict(zip(schema.names, first.schema.names, strict=True))
    return Staged(query, schema.names, stored, published, rule_names, months)


def _stage_scan(
    con,
    staging,
    table,
    scan: DuckDBScan,
    columns,
    load_id,
    loaded_at,
    suite,
    rule_names,
    months,
    numbers,
) -> Staged:
    """Run the connector's query inside the warehouse, naming, dating and marking rows."""
    try:
        published = [row[0] for row in con.execute(f"describe {scan.sql}", scan.params).fetchall()]
        schema = renamed_schema(
            pa.schema([pa.field(name, pa.string()) for name in published]), table, columns
        )
        renames = ", ".join(
            f"{quote(old)} as {quote(new)}"
            for old, new in zip(published, schema.names, strict=True)
        )
        source_sql = (
            f"select {renames}, $load_id as _load_id, $loaded_at::timestamptz as _loaded_at "
            f"from ({scan.sql})"
        )
        stored = dict.fromkeys(schema.names, "VARCHAR")
        flagged = getattr(scan, "flagged", None)  # files whose bytes hold control characters
        if flagged is None:
            control = "all"
        elif flagged:
            control = "_source_file in (select unnest($flagged_files))"
        else:
            control = None
        query = _query(
            table,
            source_sql,
            schema.names,
            stored,
            suite,
            rule_names,
            months,
            columns,
            numbers,
            control_check=control,
        )
        parameters = {**scan.params, **query.parameters, "load_id": load_id, "loaded_at": loaded_at}
        if flagged:
            parameters["flagged_files"] = list(flagged)
        con.execute(f"create or replace table {staging} as {query.sql}", parameters)
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
    return Staged(
        query,
        schema.names,
        stored,
        dict(zip(schema.names, published, strict=True)),
        rule_names,
        months,
        {"flagged_files": list(flagged)} if flagged else {},
    )


def _restage(con, staging, table, staged: Staged, suite, numbers) -> Staged:
    """The staging table again, from itself, with the number formats detection found."""
    dropped = [REJECTED, *(["_partition"] if staged.partition else [])]
    query = staging_query(
        f"select * exclude ({', '.join(dropped)}) from {staging}",
        staged.names,
        staged.stored,
        suite=suite,
        row_rule_names=staged.rule_names,
        months=staged.months,
        partition_column=staged.partition,
        numbers=numbers,
        control_check=staged.query.control_check,
    )
    again = f'{RAW_SCHEMA}."{table}__restaging"'
    try:
        con.execute(
            f"create or replace table {again} as {query.sql}",
            {**query.parameters, **staged.parameters},
        )
        con.execute(f"drop table {staging}")
        con.execute(f'alter table {again} rename to "{table}__loading"')
    finally:
        con.execute(f"drop table if exists {again}")
    return replace(staged, query=query)


def _query(
    table, source_sql, names, stored, suite, rule_names, months, columns, numbers, control_check
) -> StagingQuery:
    partition_column = _partition_column(names, months, columns)
    staged_numbers = _staged_numbers(table, names, columns, numbers)
    return staging_query(
        source_sql,
        names,
        stored,
        suite=suite,
        row_rule_names=rule_names,
        months=months,
        partition_column=partition_column,
        numbers=staged_numbers,
        control_check=control_check,
    )


def _partition_column(names: list[str], months: MonthRange | None, columns) -> str | None:
    if months is None:
        return None
    canonical = {published: name for name, published in (columns or {}).items()}
    name = canonical.get(months.column) or column_name(months.column)
    if name not in names:
        raise LoadError(f"partition column {months.column!r} is not in the source")
    return name


def _staged_numbers(table, names, columns, numbers) -> dict[str, NumberFormat]:
    canonical = {published: name for name, published in (columns or {}).items()}
    staged = {}
    for published, fmt in numbers.items():
        name = canonical.get(published) or column_name(published)
        if name not in names:
            raise LoadError(
                f"raw.{table}: the catalog states the number format of {published!r}, which "
                f"the source does not have (found: {names})"
            )
        staged[name] = fmt
    return staged


def _check_and_swap(
    con,
    staging,
    table,
    staged: Staged,
    mode: WriteMode,
    load_id,
    loaded_at,
    suite,
    batches,
    watermark,
    source,
    allow_shrink,
) -> LoadResult:
    from pipelines.loader.checks import (
        blocking_failures,
        detect_numbers,
        judge_staged_rows,
        record_check_results,
        refusal,
    )

    stripped = {}
    if staged.query.control_check is not None:
        stripped = strip_control_characters(
            con,
            staging,
            staged.names,
            staged.stored,
            staged.query.control_check,
            staged.parameters,
        )
    detected = detect_numbers(con, staging, table, staged, suite)
    if detected:  # stage again from the staged rows, reading those columns in their format
        staged = _restage(con, staging, table, staged, suite, {**staged.query.numbers, **detected})
    scope_sql, scope_params = mode.in_scope()
    (in_scope,) = con.execute(
        f"select count(*) from {staging} where ({scope_sql})", scope_params
    ).fetchone()
    if in_scope == 0 and mode.name == "replace":
        label = batches.label if isinstance(batches, DuckDBScan) else ""
        raise LoadError(
            f"raw.{table}: the source returned no rows{f' ({label})' if label else ''}; "
            "previous data kept"
        )
    before = rows_replaced(con, table, mode)
    con.execute("begin transaction")
    try:
        by_rule = _quarantine(con, staging, table, load_id, mode)
        quarantined = sum(by_rule.values())
        checks = judge_staged_rows(con, staging, table, staged, suite, mode, before, by_rule)
        failed = blocking_failures(checks, allow_shrink)
        if failed:
            raise LoadError(refusal(table, mode, failed, before))
        rows_by_file = _rows_by_file(con, staging, staged, mode)
        rows = swap(con, staging, table, mode)
        mark = watermark() if callable(watermark) else watermark
        con.execute(
            "insert into meta.load_log values (?, ?, ?, ?, ?, ?, ?, ?)",
            [table, load_id, loaded_at, mode.name, mode.scope(), rows, mark, source],
        )
        files = getattr(batches, "files", None)
        if files is not None:
            record_files(
                con,
                table,
                load_id,
                files.on_disk,
                files.read,
                files.removed,
                months_by_file=rows_by_file[0],
                partial=rows_by_file[1],
                replace_all=mode.replaces_whole_table(),
            )
        else:
            forget_files(con, table)
        record_check_results(con, table, load_id, checks)
        if stripped:
            con.executemany(
                "insert into meta.load_notes values (?, ?, ?, ?, ?, now())",
                [
                    (table, load_id, "control characters stripped", column, count)
                    for column, count in stripped.items()
                ],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return LoadResult(
        table,
        rows,
        table_columns(con, table),
        load_id,
        loaded_at,
        quarantined,
        by_rule,
        checks,
        mode.scope(),
        mode.name,
        stripped,
    )


def _quarantine(con, staging: str, table: str, load_id: str, mode: WriteMode) -> dict[str, int]:
    """Rows marked `_rejected` go to meta.quarantined_rows (with their rule) and leave the
    staging table; a load whose every row is bad fails instead of swapping in nothing."""
    by_rule = dict(
        con.execute(
            f"select {REJECTED}, count(*) from {staging} where {REJECTED} is not null "
            "group by 1 order by 2 desc, 1"
        ).fetchall()
    )
    if by_rule:
        con.execute(
            "insert into meta.quarantined_rows "
            f"select $table, $load_id, {REJECTED}, {_row_json('r')}, now() "
            f"from {staging} as r where {REJECTED} is not null",
            {"table": table, "load_id": load_id},
        )
        _refuse_if_all_quarantined(con, staging, table, load_id, mode, by_rule)
        con.execute(f"delete from {staging} where {REJECTED} is not null")
    con.execute(f"alter table {staging} drop column {REJECTED}")
    return by_rule


def _row_json(alias: str) -> str:
    """The staged row as JSON, as published (without the loader's `_rejected` mark)."""
    return f"json_merge_patch(to_json({alias}), '{{\"{REJECTED}\": null}}')"


def _refuse_if_all_quarantined(con, staging, table, load_id, mode: WriteMode, by_rule) -> None:
    """Swapping in an empty table (or empty months) because every row was bad would hide
    the problem: fail, keep the previous data, and say which rules the rows failed."""
    scope, bounds = mode.in_scope()
    (kept,) = con.execute(
        f"select count(*) from {staging} where {REJECTED} is null and ({scope})", bounds
    ).fetchone()
    if kept:
        return
    dates_only = all(
        rule.startswith("unreadable date in ") or " outside months " in rule for rule in by_rule
    )
    if mode.months and dates_only:
        # Only undated rows were set aside: fail only if no row had a date at all (a month
        # with no rows of its own is not an error; the undated rows are quarantined anyway).
        (dated,) = con.execute(
            f"select count(*) from {staging} where _partition is not null"
        ).fetchone()
        if dated:
            return
    quarantined = sum(by_rule.values())
    (example,) = con.execute(
        f"select {_row_json('r')}::varchar from {staging} as r where {REJECTED} = $rule limit 1",
        {"rule": next(iter(by_rule))},
    ).fetchone()
    rules = ", ".join(f"{rule}: {count:,}" for rule, count in by_rule.items())
    example = example if len(example) <= 300 else example[:299] + "…"
    raise LoadError(
        f"raw.{table}: every row of the load ({quarantined:,}) failed a critical row rule "
        f"({rules}); previous data kept, nothing swapped in. Example row: {example}. Fix the "
        "source (or the rule in sources/quality/) and re-run the load"
    )


def _rows_by_file(con, staging, staged: Staged, mode: WriteMode):
    """Per file read: (first month, last month, rows kept), and the files kept only in part."""
    if "_source_file" not in staged.names:
        return {}, set()
    scope, bounds = mode.in_scope()
    if staged.partition:
        lines = con.execute(
            f"select _source_file, min(_partition) filter (where {scope}), "
            f"max(_partition) filter (where {scope}), count(*) filter (where {scope}), "
            f"count(*) filter (where not ({scope})) from {staging} group by 1",
            bounds,
        ).fetchall()
    else:
        lines = [
            (name, None, None, rows, 0)
            for name, rows in con.execute(
                f"select _source_file, count(*) from {staging} group by 1"
            ).fetchall()
        ]
    months = {name: (first, last, rows) for name, first, last, rows, _ in lines}
    partial = {name for name, *_, outside in lines if outside}
    return months, partial


def latest_watermark(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The watermark recorded by the last load of `raw.<table>` that stored one."""
    con.execute(META_DDL)
    row = con.execute(
        "select watermark from meta.load_log where raw_table = ? and watermark is not null "
        "order by loaded_at desc, rowid desc limit 1",
        [table],
    ).fetchone()
    return row[0] if row else None


def quarantine_summary(con: duckdb.DuckDBPyConnection, load_id: str) -> dict[str, int]:
    con.execute(META_DDL)
    return dict(
        con.execute(
            "select raw_table, count(*) from meta.quarantined_rows where load_id = ? group by 1",
            [load_id],
        ).fetchall()
    )
