"""Putting the staged rows in place, inside the load's transaction: three ways.

- replace: the staging table becomes `raw.<table>` (a rename: the rows are not copied);
- months: the staged rows replace exactly the load's months of a dated table;
- merge: the staged rows replace the rows sharing their key (a portal's row id), or, for
  local files, every row of the files the load read or found removed.

`rows_replaced` says how many rows a load is about to replace, the baseline the row-count rule
compares the staged rows with before anything is swapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.loader.common import RAW_SCHEMA, LoadError, MonthRange, quote, table_columns


@dataclass(frozen=True)
class WriteMode:
    """How the staged rows are put in place (see the module doc).

    `months` dates the rows; without a merge key it is also what the load replaces. With a
    merge key it must cover the dataset's whole range (rows dated outside are quarantined).
    """

    months: MonthRange | None = None
    merge_key: str | None = None  # a staged column name
    # With merge_key `_source_file`: the files whose rows the load replaces (read or removed).
    files: Sequence[str] | None = None

    @property
    def name(self) -> str:
        return "merge" if self.merge_key else "months" if self.months else "replace"

    def scope(self) -> str:
        if self.files is not None:
            return f"{len(self.files)} file(s)"
        if self.merge_key:
            return "changed rows"
        if self.months:
            return self.months.describe()
        return "all"

    def in_scope(self) -> tuple[str, dict[str, object]]:
        """The staged rows this load puts in place: a month load's months, else every row."""
        if self.months is None:
            return "true", {}
        return "_partition >= $start and _partition < $end", {
            "start": self.months.start,
            "end": self.months.end,
        }

    def replaces_whole_table(self) -> bool:
        if self.merge_key:
            return False
        return self.months is None or self.months.whole_range


def rows_replaced(con, table: str, mode: WriteMode) -> int | None:
    """Rows of `raw.<table>` the load replaces (None: not known, e.g. a merge on row ids)."""
    if not table_columns(con, table):
        return 0
    relation = f'{RAW_SCHEMA}."{table}"'
    if mode.replaces_whole_table():
        return con.execute(f"select count(*) from {relation}").fetchone()[0]
    if mode.files is not None:
        return con.execute(
            f"select count(*) from {relation} where _source_file in (select unnest($files))",
            {"files": list(mode.files)},
        ).fetchone()[0]
    if mode.merge_key:
        return None  # a merge on row ids only adds or replaces rows
    where, bounds = mode.in_scope()
    if "_partition" not in table_columns(con, table):
        return None
    return con.execute(f"select count(*) from {relation} where {where}", bounds).fetchone()[0]


def swap(con, staging: str, table: str, mode: WriteMode) -> int:
    """Put the staged rows in place; the rows now loaded."""
    where, bounds = mode.in_scope()
    exists = bool(table_columns(con, table))
    if mode.replaces_whole_table() or not exists:
        if mode.months and not mode.months.whole_range:  # rows of other months stay out
            con.execute(f"delete from {staging} where _partition is null or not ({where})", bounds)
        rows = con.execute(f"select count(*) from {staging}").fetchone()[0]
        con.execute(f'drop table if exists {RAW_SCHEMA}."{table}"')
        con.execute(f'alter table {staging} rename to "{table}"')
        return rows
    check_same_columns(con, staging, table)
    relation = f'{RAW_SCHEMA}."{table}"'
    if mode.months and not mode.merge_key:
        con.execute(f"delete from {relation} where {where}", bounds)
        con.execute(f"insert into {relation} select * from {staging} where {where}", bounds)
        return con.execute(f"select count(*) from {staging} where {where}", bounds).fetchone()[0]
    key = quote(mode.merge_key or "")
    if mode.files is not None:
        con.execute(
            f"delete from {relation} where _source_file in (select unnest($files))",
            {"files": list(mode.files)},
        )
    else:
        con.execute(f"delete from {relation} where {key} in (select {key} from {staging})")
    con.execute(f"insert into {relation} select * from {staging} where {where}", bounds)
    return con.execute(f"select count(*) from {staging} where {where}", bounds).fetchone()[0]


def check_same_columns(con, staging: str, table: str) -> None:
    existing = table_columns(con, table)
    incoming = table_columns(con, f"{table}__loading")
    if existing != incoming:
        added = sorted(set(incoming) - set(existing))
        removed = sorted(set(existing) - set(incoming))
        raise LoadError(
            f"raw.{table}: the source's columns changed (added {added}, removed {removed}); "
            "previous data kept. Reload the whole dataset to accept the change "
            "(`civic run --full-refresh`)."
        )
