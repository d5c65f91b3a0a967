"""What a run left in the warehouse, for the end of `civic run` and for tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class WarehouseSummary:
    warehouse: Path
    raw_rows: dict[str, int]
    indicators_by_domain: dict[str, tuple[int, int]]  # domain -> (indicators, values)

    def lines(self) -> list[str]:
        lines = ["Rows loaded per source:"]
        lines += [f"  raw.{table:<40} {rows:>10,}" for table, rows in self.raw_rows.items()]
        lines.append("Indicators computed (fct_indicator_values):")
        lines += [
            f"  {domain:<15} {count:>3} indicators {values:>10,} values"
            for domain, (count, values) in self.indicators_by_domain.items()
        ]
        lines.append(f"Warehouse: {self.warehouse}")
        return lines


def summarize(warehouse: Path) -> WarehouseSummary:
    """Read-only: safe while nothing writes, never blocks a later writer."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' order by table_name"
        ).fetchall()
        raw_rows = {
            name: con.execute(f'select count(*) from raw."{name}"').fetchone()[0]
            for (name,) in tables
        }
        by_domain = con.execute(
            """
            select d.domain, count(distinct v.indicator_id), count(*)
            from marts.fct_indicator_values as v
            join marts.dim_indicators as d using (indicator_id)
            group by d.domain
            order by d.domain
            """
        ).fetchall()
    return WarehouseSummary(
        warehouse=warehouse,
        raw_rows=raw_rows,
        indicators_by_domain={domain: (count, values) for domain, count, values in by_domain},
    )
