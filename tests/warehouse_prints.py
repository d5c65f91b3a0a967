"""Rows and an order-independent fingerprint of every table of a warehouse, to check that a
run, a refused load or a failure left the data as they were (tests and the soak script).

Left out on purpose: the load bookkeeping columns (two loads of the same file differ only in
them), the run-history tables (each run adds its loads) and the `meta` schema (the run's own
record: load log, check results, file index).

Floating-point columns are compared with a tolerance, not hashed: parallel sums add in varying
order, so two builds of the same data differ in the last bits (seen: 3.6e-12 on limits of about
1,000), and rounding before hashing still flips a digit now and then across 100,000 values.
Every other column goes into an exact content hash; each float column into a sum of its values
weighted by a number drawn from the row's exact columns, so a value moved to another row shows;
two sums are equal within 1e-10 of each other (a change of about 1e-4 in one value of a column
totalling 1e9 passes: below what these checks are for, lost or altered rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import duckdb

DATA_SCHEMAS = ("raw", "reference", "seeds", "staging", "intermediate", "marts")
LOAD_COLUMNS = frozenset({"_load_id", "_loaded_at"})
RUN_HISTORY = frozenset({"staging.stg_meta__load_log", "marts.fct_data_health"})
FLOATS = frozenset({"DOUBLE", "FLOAT", "REAL"})


@dataclass(frozen=True, eq=False)
class TablePrint:
    rows: int
    exact: str  # content hash of the exact columns (and of where the floats are not finite)
    floats: tuple[float, ...]  # per float column, the row-weighted sum of its finite values

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TablePrint):
            return NotImplemented
        return (
            (self.rows, self.exact, len(self.floats))
            == (other.rows, other.exact, len(other.floats))
            and all(
                math.isclose(a, b, rel_tol=1e-10, abs_tol=1e-6)
                for a, b in zip(self.floats, other.floats, strict=True)
            )
        )  # fmt: skip

    __hash__ = None


def content(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    """(rows, exact content hash) of a relation: a table, a subquery or `read_parquet(...)`;
    for two copies of the same bits, e.g. an exported file and its mart."""
    return tuple(
        con.execute(
            f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar from {relation} t"
        ).fetchone()
    )


def table_prints(
    warehouse: Path | duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = DATA_SCHEMAS
) -> dict[str, TablePrint]:
    """`{"schema.table": TablePrint}` for every base table of `schemas` (read-only)."""
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        return _prints(warehouse, schemas)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _prints(con, schemas)


def _prints(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, TablePrint]:
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
        columns = [
            (column, data_type in FLOATS)
            for column, data_type in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if column not in LOAD_COLUMNS
        ]
        floats = [f'"{column}"' for column, is_float in columns if is_float]
        exact = [f'"{column}"' for column, is_float in columns if not is_float] + [
            f"coalesce(case when isfinite({c}) then 'finite' else {c}::varchar end, 'null')"
            for c in floats
        ]
        values = ", ".join([f"hash({', '.join(exact)}) as _h", *floats])
        sums = "".join(
            f", coalesce(sum(case when isfinite({c}) then {c} * (_h % 1009 + 1) end), 0)"
            for c in floats
        )
        rows, exact_hash, *float_sums = con.execute(
            f"select count(*), coalesce(sum(_h::hugeint), 0)::varchar{sums} "
            f'from (select {values} from {schema}."{table}")'
        ).fetchone()
        prints[name] = TablePrint(rows, exact_hash, tuple(float(v) for v in float_sums))
    return prints
