"""What every step of a raw load shares: names, the meta tables, the load's errors and results."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from pipelines.quality.evaluate import RuleResult

RAW_SCHEMA = "raw"
META_SCHEMA = "meta"
METADATA_COLUMNS = ("_source_file", "_load_id", "_loaded_at", "_partition")
REJECTED = "_rejected"  # staging only: the first rule a row fails (null: the row is good)

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
create table if not exists meta.load_notes (
    raw_table varchar, load_id varchar, note varchar, column_name varchar, "values" bigint,
    noted_at timestamptz
);
create table if not exists meta.source_files (
    raw_table varchar, file varchar, size bigint, modified varchar,
    first_month date, last_month date, rows bigint, load_id varchar
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
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    checks: list[RuleResult] = field(default_factory=list)
    scope: str = "all"
    mode: str = "replace"
    # Values changed to be loaded, e.g. {"school_name": 79} control characters stripped.
    stripped: dict[str, int] = field(default_factory=dict)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


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


def table_columns(con, table: str, schema: str = RAW_SCHEMA) -> list[str]:
    """Column names of <schema>.<table>, in order ([] when the table does not exist)."""
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]
