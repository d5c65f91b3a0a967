"""Rows and an order-independent content hash of every table of a warehouse, to check that a
run, a refused load or a failure left the data as they were (tests and the soak script).

Left out on purpose: the load bookkeeping columns (two loads of the same file differ only in
them), the run-history tables (each run adds its loads) and the `meta` schema (the run's own
record: load log, check results, file index). Doubles are compared to 1e-9: parallel sums add
in varying order, so the last bits of a float total differ between two runs of the same data.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

DATA_SCHEMAS = ("raw", "reference", "seeds", "staging", "intermediate", "marts")
LOAD_COLUMNS = frozenset({"_load_id", "_loaded_at"})
RUN_HISTORY = frozenset({"staging.stg_meta__load_log", "marts.fct_data_health"})


def content(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    """(rows, content hash) of a relation: a table name, a subquery or `read_parquet(...)`."""
    return tuple(
        con.execute(
            f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar from {relation} t"
        ).fetchone()
    )


def table_prints(
    warehouse: Path | duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = DATA_SCHEMAS
) -> dict[str, tuple[int, str]]:
    """`{"schema.table": (rows, hash)}` for every base table of `schemas` (read-only)."""
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        return _prints(warehouse, schemas)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _prints(con, schemas)


def _prints(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, tuple]:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_schema in ? order by all",
        [list(schemas)],
    ).fetchall()
    prints = {}
    for schema, table in tables:
        name = f"{schema}.{table}"
        if name in RUN_HISTORY:
            continue
        columns = ", ".join(
            f'round("{column}", 9)' if data_type == "DOUBLE" else f'"{column}"'
            for column, data_type in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if column not in LOAD_COLUMNS
        )
        prints[name] = content(con, f'(select {columns} from {schema}."{table}")')
    return prints
