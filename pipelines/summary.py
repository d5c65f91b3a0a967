"""What a run left in the warehouse, for the end of `civic run` and for tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class WarehouseSummary:
    warehouse: Path
    raw_rows: dict[str, int]
    indicators_by_domain: dict[tuple[str, str], tuple[int, int]]  # (city, domain) -> counts
    quarantined: dict[str, int]  # raw table -> rows quarantined by the latest load
    left_out: list[tuple[str, str, str]]  # (city, dataset, reason) the dbt models could not read

    def lines(self) -> list[str]:
        lines = ["Rows loaded per source:"]
        lines += [f"  raw.{table:<40} {rows:>10,}" for table, rows in self.raw_rows.items()]
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
            lines += [f"  raw.{t:<40} {n:>10,}" for t, n in self.quarantined.items()]
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
        quarantined = con.execute(
            """
            select q.raw_table, count(*)
            from meta.quarantined_rows as q
            join (
                select raw_table, arg_max(load_id, loaded_at) as load_id
                from meta.load_log group by raw_table
            ) as latest using (raw_table, load_id)
            group by all
            order by all
            """
        ).fetchall()
        left_out = con.execute(
            "select distinct city, dataset, reason from marts.fct_source_status "
            "where not is_included order by all"
        ).fetchall()
    return WarehouseSummary(
        warehouse=warehouse,
        raw_rows=raw_rows,
        indicators_by_domain={(c, d): (n, v) for c, d, n, v in by_domain},
        quarantined=dict(quarantined),
        left_out=left_out,
    )
