"""What changed since the previous release: rows per table and indicator definitions.

Rows are compared by the table's primary key: *added* keys are only in the new release,
*removed* only in the previous one, *changed* in both with any other column different (nulls
compare equal to nulls). A table without a primary key is compared as a multiset of whole
rows (a changed row then counts as one removed and one added). Indicator definitions are the
rows of `dim_indicators` whose name, description, unit or polarity differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

DEFINITIONS_TABLE = "dim_indicators"
DEFINITIONS_KEY = "indicator_id"
DEFINITION_FIELDS = ("name", "description", "unit", "polarity")
SAMPLE_KEYS = 10


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class TableChanges:
    rows: int
    previous_rows: int | None
    added: int
    removed: int
    changed: int
    compared_by: list[str]  # the primary key, or [] for whole rows
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: str = "updated"  # new | updated | unchanged

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Changes:
    version: str
    previous_version: str | None
    tables: dict[str, TableChanges]
    tables_dropped: list[str]
    definitions_changed: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "previous_version": self.previous_version,
            "tables": {name: t.as_dict() for name, t in self.tables.items()},
            "tables_dropped": self.tables_dropped,
            "indicator_definitions_changed": self.definitions_changed,
        }


def compare_releases(
    version: str,
    previous_version: str | None,
    current: dict[str, pa.Table],
    previous: dict[str, pa.Table],
    primary_keys: dict[str, list[str]],
) -> Changes:
    """Changes from `previous` tables (empty for a first release) to `current` tables."""
    con = duckdb.connect()
    tables = {}
    for name, table in current.items():
        old = previous.get(name)
        key = [c for c in primary_keys.get(name, []) if old is None or c in old.schema.names]
        tables[name] = compare_table(con, table, old, key)
    definitions = (
        definition_changes(con, current[DEFINITIONS_TABLE], previous[DEFINITIONS_TABLE])
        if DEFINITIONS_TABLE in current and DEFINITIONS_TABLE in previous
        else []
    )
    con.close()
    return Changes(
        version=version,
        previous_version=previous_version,
        tables=tables,
        tables_dropped=sorted(set(previous) - set(current)),
        definitions_changed=definitions,
    )


def compare_table(
    con: duckdb.DuckDBPyConnection, new: pa.Table, old: pa.Table | None, key: list[str]
) -> TableChanges:
    if old is None:
        return TableChanges(new.num_rows, None, new.num_rows, 0, 0, key, status="new")
    common = [c for c in new.schema.names if c in old.schema.names]
    con.register("new_rows", new.select(common))
    con.register("old_rows", old.select(common))
    try:
        if key:
            counts, samples = keyed_differences(con, common, key)
        else:
            counts, samples = row_differences(con, common)
    finally:
        con.unregister("new_rows")
        con.unregister("old_rows")
    added, removed, changed = counts
    changes = TableChanges(
        rows=new.num_rows,
        previous_rows=old.num_rows,
        added=added,
        removed=removed,
        changed=changed,
        compared_by=key,
        columns_added=[c for c in new.schema.names if c not in old.schema.names],
        columns_removed=[c for c in old.schema.names if c not in new.schema.names],
        samples=samples,
    )
    if not (added or removed or changed or changes.columns_added or changes.columns_removed):
        changes.status = "unchanged"
    return changes


def keyed_differences(
    con: duckdb.DuckDBPyConnection, columns: list[str], key: list[str]
) -> tuple[tuple[int, int, int], dict[str, list[dict[str, Any]]]]:
    keys = ", ".join(quote(c) for c in key)
    join = " and ".join(f"n.{quote(c)} is not distinct from o.{quote(c)}" for c in key)
    values = [c for c in columns if c not in key]
    differs = " or ".join(f"n.{quote(c)} is distinct from o.{quote(c)}" for c in values)
    queries = {
        "added": f"select {keys} from new_rows except all select {keys} from old_rows",
        "removed": f"select {keys} from old_rows except all select {keys} from new_rows",
        "changed": (
            f"select {', '.join('n.' + quote(c) for c in key)} from new_rows n "
            f"join old_rows o on {join} where {differs or 'false'}"
        ),
    }
    return collect(con, queries)


def row_differences(
    con: duckdb.DuckDBPyConnection, columns: list[str]
) -> tuple[tuple[int, int, int], dict[str, list[dict[str, Any]]]]:
    cols = ", ".join(quote(c) for c in columns)
    queries = {
        "added": f"select {cols} from new_rows except all select {cols} from old_rows",
        "removed": f"select {cols} from old_rows except all select {cols} from new_rows",
    }
    (added, removed, _), samples = collect(con, queries)
    return (added, removed, 0), samples


def collect(
    con: duckdb.DuckDBPyConnection, queries: dict[str, str]
) -> tuple[tuple[int, int, int], dict[str, list[dict[str, Any]]]]:
    counts = {}
    samples = {}
    for kind, query in queries.items():
        counts[kind] = con.execute(f"select count(*) from ({query})").fetchall()[0][0]
        if counts[kind]:
            cursor = con.execute(f"select * from ({query}) order by all limit {SAMPLE_KEYS}")
            names = [d[0] for d in cursor.description]
            samples[kind] = [
                {n: jsonable(v) for n, v in zip(names, row, strict=True)}
                for row in cursor.fetchall()
            ]
    return (counts["added"], counts["removed"], counts.get("changed", 0)), samples


def definition_changes(
    con: duckdb.DuckDBPyConnection, new: pa.Table, old: pa.Table
) -> list[dict[str, Any]]:
    """Indicators present in both releases whose definition fields differ, old -> new."""
    fields = [f for f in DEFINITION_FIELDS if f in new.schema.names and f in old.schema.names]
    if DEFINITIONS_KEY not in new.schema.names or DEFINITIONS_KEY not in old.schema.names:
        return []
    before = {row[DEFINITIONS_KEY]: row for row in old.to_pylist()}
    changes = []
    for row in sorted(new.to_pylist(), key=lambda r: str(r[DEFINITIONS_KEY])):
        was = before.get(row[DEFINITIONS_KEY])
        if was is None:
            continue
        diff = {f: {"old": was[f], "new": row[f]} for f in fields if was[f] != row[f]}
        if diff:
            changes.append({DEFINITIONS_KEY: row[DEFINITIONS_KEY], "changes": diff})
    return changes


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def changelog_markdown(changes: Changes, title: str) -> str:
    """CHANGELOG.md of a release: a human summary of `changes`."""
    lines = [f"# {title} {changes.version}", ""]
    if changes.previous_version is None:
        lines += ["First release: every row is new.", ""]
    else:
        lines += [f"Changes since release {changes.previous_version}.", ""]
    lines += [
        "| table | rows | added | removed | changed | compared by |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, t in changes.tables.items():
        by = ", ".join(t.compared_by) if t.compared_by else "whole rows"
        note = " (new table)" if t.status == "new" else ""
        lines.append(
            f"| {name}{note} | {t.rows:,} | {t.added:,} | {t.removed:,} | {t.changed:,} | {by} |"
        )
    for name in changes.tables_dropped:
        lines.append(f"| {name} (no longer published) | 0 | | | | |")
    lines.append("")
    for name, t in changes.tables.items():
        if t.columns_added or t.columns_removed:
            lines.append(
                f"- `{name}` columns added: {', '.join(t.columns_added) or 'none'}; "
                f"removed: {', '.join(t.columns_removed) or 'none'}."
            )
    if changes.previous_version is not None:
        lines += ["", "## Indicator definitions changed", ""]
        if not changes.definitions_changed:
            lines.append("None.")
        for change in changes.definitions_changed:
            lines.append(f"- `{change[DEFINITIONS_KEY]}`")
            for field_name, diff in change["changes"].items():
                lines.append(f"  - {field_name}: {diff['old']!r} -> {diff['new']!r}")
    lines += ["", "Row-level samples (up to 10 keys per kind) are in `changes.json`.", ""]
    return "\n".join(lines)
