"""What a run left in the warehouse, for the end of `civic run` and for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class WarehouseSummary:
    warehouse: Path
    raw_rows: dict[str, int]
    indicators_by_domain: dict[tuple[str, str], tuple[int, int]]  # (city, domain) -> counts
    quarantined: dict[str, int]  # raw table -> rows quarantined by the latest load
    left_out: list[tuple[str, str, str]]  # (city, dataset, reason) the dbt models could not read
    # (raw table, rule) -> rows of the latest load quarantined under that rule
    quarantined_rules: dict[tuple[str, str], int] = field(default_factory=dict)
    # (raw table, note, column) -> values changed by the latest load (control characters)
    notes: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def lines(self, per_table: bool = True) -> list[str]:
        """The summary; with ``per_table`` False, the raw tables' rows are one line (the
        screen of a run whose log file has the full list)."""
        if per_table:
            lines = ["Rows loaded per source:"]
            lines += [f"  raw.{table:<40} {rows:>10,}" for table, rows in self.raw_rows.items()]
        else:
            lines = [
                f"Rows loaded: {sum(self.raw_rows.values()):,} in {len(self.raw_rows)} raw "
                "tables (each table's rows in the log file)"
            ]
        lines.append("Indicators computed (marts.fct_indicator_values):")
        lines += [
            f"  {city:<10} {domain:<15} {count:>3} indicators {values:>10,} values"
            for (city, domain), (count, values) in self.indicators_by_domain.items()
        ]
        if self.left_out:
            lines.append("Left out of this build's indicators (marts.fct_source_status):")
            lines += [f"  {city}.{dataset}: {reason}" for city, dataset, reason in self.left_out]
        if self.quarantined:
            lines.append("Rows quarantined (meta.quarantined_rows):")
            for table, count in self.quarantined.items():
                lines.append(f"  raw.{table:<40} {count:>10,}")
                lines += [
                    f"      {rule}: {n:,}"
                    for (t, rule), n in self.quarantined_rules.items()
                    if t == table
                ]
        if self.notes:
            lines.append("Values cleaned while loading (meta.load_notes):")
            lines += [
                f"  raw.{table}.{column}: {note} in {n:,} value(s)"
                for (table, note, column), n in self.notes.items()
            ]
        lines.append(f"Warehouse: {self.warehouse}")
        return lines


def summarize(warehouse: Path) -> WarehouseSummary:
    """Read-only: safe while nothing writes, never blocks a later writer."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' and table_name not like '%\\_\\_loading' escape '\\' "
            "order by table_name"
        ).fetchall()
        raw_rows = {
            name: con.execute(f'select count(*) from raw."{name}"').fetchone()[0]
            for (name,) in tables
        }
        by_domain = con.execute(
            """
            select v.city, d.domain, count(distinct v.indicator_id), count(*)
            from marts.fct_indicator_values as v
            join marts.dim_indicators as d using (indicator_id)
            group by all
            order by all
            """
        ).fetchall()
        latest = (
            "select raw_table, arg_max(load_id, loaded_at) as load_id "
            "from meta.load_log group by raw_table"
        )
        by_rule = con.execute(
            f"""
            select q.raw_table, q.rule, count(*)
            from meta.quarantined_rows as q
            join ({latest}) as latest using (raw_table, load_id)
            group by all
            order by all
            """
        ).fetchall()
        present = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        left_out = []
        if "marts.fct_source_status" in present:  # absent when no transform has run yet
            left_out = con.execute(
                "select distinct city, dataset, reason from marts.fct_source_status "
                "where not is_included order by all"
            ).fetchall()
        quarantined: dict[str, int] = {}
        for table, _, count in by_rule:
            quarantined[table] = quarantined.get(table, 0) + count
        notes = []
        if "meta.load_notes" in present:
            notes = con.execute(
                f"""
                select n.raw_table, n.note, n.column_name, sum(n."values")
                from meta.load_notes as n
                join ({latest}) as latest using (raw_table, load_id)
                group by all
                order by all
                """
            ).fetchall()
    return WarehouseSummary(
        warehouse=warehouse,
        raw_rows=raw_rows,
        indicators_by_domain={(c, d): (n, v) for c, d, n, v in by_domain},
        quarantined=quarantined,
        quarantined_rules={(t, rule): n for t, rule, n in by_rule},
        notes={(t, note, column): n for t, note, column, n in notes},
        left_out=left_out,
    )
