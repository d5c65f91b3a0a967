"""Run a suite on a warehouse table, inside DuckDB: what the mart checks and `run_suite` call.

Raw tables are checked by the loader itself, on the staged rows before they replace anything
(`pipelines.loading`); this runs a whole suite on a table already in the warehouse: the key
marts after dbt builds them, or any table by hand. For raw tables only the rows of the latest
load are read (its `_load_id`), as the loader checked them. Row counts are compared with a
baseline: the previous comparable load (raw) or the published Parquet export (marts).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.loader.common import META_SCHEMA
from pipelines.quality.evaluate import EXPECTATIONS, RuleResult, evaluate
from pipelines.quality.projection import quote
from pipelines.quality.suites import Rule, Suite

__all__ = [
    "RuleResult",
    "latest_load",
    "row_count_change",
    "run_suite",
    "stored_columns",
    "suite_results",
]


def stored_columns(con: duckdb.DuckDBPyConnection, suite: Suite) -> dict[str, str]:
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [suite.schema_name, suite.table],
        ).fetchall()
    )


def latest_load(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, Any] | None:
    """The last line of meta.load_log for the raw table, or None."""
    if not _has_load_log(con):
        return None
    row = con.execute(
        "select load_id, mode, scope, rows from meta.load_log where raw_table = ? "
        "order by loaded_at desc, rowid desc limit 1",
        [table],
    ).fetchone()
    return dict(zip(("load_id", "mode", "scope", "rows"), row, strict=True)) if row else None


def _has_load_log(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = 'load_log'",
            [META_SCHEMA],
        ).fetchone()[0]
    )


def run_suite(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    exports_dir: Path | None = None,
    now: datetime | None = None,
) -> list[RuleResult]:
    """Every rule of the suite on its table (raw: the latest load's rows), in suite order."""
    return suite_results(con, suite, exports_dir, now)[0]


def suite_results(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    exports_dir: Path | None = None,
    now: datetime | None = None,
) -> tuple[list[RuleResult], str]:
    """`run_suite`'s results and the rows they are about (e.g. 'rows of load ...')."""
    stored = stored_columns(con, suite)
    if not stored:
        raise LookupError(f"{suite.relation} does not exist in the warehouse")
    where, parameters, scope = "true", {}, "all rows"
    load = latest_load(con, suite.table) if suite.latest_load_only else None
    if load and "_load_id" in stored:
        where, parameters = "_load_id = $load_id", {"load_id": load["load_id"]}
        scope = f"rows of load {load['load_id']} ({load['mode']}, {load['scope']})"
    relation = f"{quote(suite.schema_name)}.{quote(suite.table)}"
    results = evaluate(con, suite, relation, stored, where=where, parameters=parameters, now=now)
    rows = next((r.rows_checked for r in results.values() if r.rows_checked is not None), None)
    if rows is None:
        (rows,) = con.execute(
            f"select count(*) from {relation} where {where}", parameters
        ).fetchone()
    for rule in suite.rules:
        if rule.check == "row_count_change":
            results[rule.name] = row_count_change(con, suite, rule, int(rows), exports_dir)
    return [results[rule.name] for rule in suite.rules], scope


# --- row count against a baseline (SQL only) ---------------------------------------------------


def row_count_change(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    rule: Rule,
    rows_now: int,
    exports_dir: Path | None,
) -> RuleResult:
    """Compare the rows now with a baseline: the previous comparable load or the published file.

    A load is comparable when it has the same mode and scope (a one-month load is not compared
    with a whole-range load); merge loads only carry the rows that changed, so they are skipped.
    """
    if rule.against == "published_export":
        baseline, what = _published_rows(con, suite, exports_dir), "the published export"
    else:
        baseline, what = _previous_load_rows(con, suite), "the previous comparable load"
    return compare_rows(rule, rows_now, baseline, what)


def compare_rows(rule: Rule, rows_now: int, baseline: int | None, what: str) -> RuleResult:
    """A row_count_change rule judged against `baseline` rows (None: no baseline, passes)."""
    expectation = EXPECTATIONS["row_count_change"]
    if baseline is None or baseline == 0:
        return RuleResult(
            rule,
            True,
            unexpected_count=0,
            observed=f"{rows_now:,} rows; no baseline ({what})",
            expectation=expectation,
            rows_checked=rows_now,
        )
    low = math.ceil(baseline * (1 - rule.max_drop_pct / 100))
    high = math.floor(baseline * rule.max_growth_factor) if rule.max_growth_factor else None
    passed = rows_now >= low and (high is None or rows_now <= high)
    change = (rows_now - baseline) / baseline * 100
    bounds = f"[{low:,}, {high:,}]" if high is not None else f">= {low:,}"
    return RuleResult(
        rule,
        passed,
        unexpected_count=0 if passed else abs(rows_now - baseline),
        observed=f"{rows_now:,} rows vs {baseline:,} in {what} ({change:+.1f}%); allowed {bounds}",
        expectation=expectation,
        rows_checked=rows_now,
    )


def _previous_load_rows(con: duckdb.DuckDBPyConnection, suite: Suite) -> int | None:
    load = latest_load(con, suite.table)
    if load is None or load["mode"] == "merge":
        return None
    row = con.execute(
        "select rows from meta.load_log where raw_table = ? and mode = ? and scope = ? "
        "and load_id <> ? order by loaded_at desc, rowid desc limit 1",
        [suite.table, load["mode"], load["scope"], load["load_id"]],
    ).fetchone()
    return int(row[0]) if row else None


def _published_rows(
    con: duckdb.DuckDBPyConnection, suite: Suite, exports_dir: Path | None
) -> int | None:
    if exports_dir is None:
        return None
    path = exports_dir / f"{suite.table}.parquet"
    if not path.exists():
        return None
    return int(con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0])
