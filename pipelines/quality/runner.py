"""Run a suite on a warehouse table with Great Expectations, over a pandas DataFrame.

Great Expectations has no DuckDB support of its own (and its SQLAlchemy path through
duckdb-engine returns wrong results), so the table is read with DuckDB into pandas: only the
columns the rules name, each in the reading the suite gives (typed values, plus the raw text
of values that do not parse), and for raw tables only the rows of the latest load. The
DuckDB connection is closed before Great Expectations runs. Aggregate rules (row count
against the previous load) are answered in SQL and never load rows.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.loading import META_SCHEMA
from pipelines.quality.suites import ColumnReading, Rule, Suite

EXAMPLES = 5  # unexpected values reported per rule
EXAMPLE_LENGTH = 80  # characters kept of each example value

UNPARSED = "__unparsed__"
NONFINITE = "__nonfinite__"
WHEN = "__when__"


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    passed: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[str] = field(default_factory=list)
    observed: str = ""
    expectation: str = ""
    rows_checked: int | None = None

    def metadata(self) -> dict[str, Any]:
        """What a Dagster check result carries: the rule, the counts, a few example values."""
        return {
            "rule": self.rule.name,
            "check": self.rule.check,
            "severity": self.rule.severity,
            "columns": ", ".join(self.rule.referenced_columns),
            "expectation": self.expectation,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "examples": self.examples,
            "observed": self.observed,
            "rows_checked": self.rows_checked,
        }

    def describe(self) -> str:
        status = "passed" if self.passed else f"FAILED ({self.rule.severity})"
        count = "" if self.unexpected_count is None else f", {self.unexpected_count:,} unexpected"
        shown = f", e.g. {self.examples}" if self.examples and not self.passed else ""
        observed = f": {self.observed}" if self.observed else ""
        return f"{self.rule.name} {status}{count}{shown}{observed}"


# --- reading the table -------------------------------------------------------------------------


def quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


class Projection:
    """The select list of the frame: one expression per frame column, with its parameters."""

    def __init__(self, suite: Suite, stored_types: dict[str, str]):
        self.suite = suite
        self.stored_types = stored_types
        self.expressions: dict[str, str] = {}
        self.parameters: dict[str, Any] = {}
        self._texts: dict[str, str] = {}
        self._typed: dict[str, str] = {}

    def _parameter(self, value: Any) -> str:
        name = f"p{len(self.parameters)}"
        self.parameters[name] = value
        return f"${name}"

    def text(self, column: str) -> str:
        """The published text, trimmed; blank and the suite's missing markers are null."""
        if column not in self._texts:
            self._texts[column] = self._text(column, self.suite.reading(column))
        return self._texts[column]

    def _text(self, column: str, reading: ColumnReading) -> str:
        trimmed = f"nullif(trim(cast({quote(column)} as varchar)), '')"
        if not reading.missing:
            return trimmed
        markers = self._parameter(reading.missing)
        return f"case when list_contains({markers}, {trimmed}) then null else {trimmed} end"

    def typed(self, column: str) -> str:
        """The column read as the suite says (computed once: its parameters are numbered)."""
        if column not in self._typed:
            self._typed[column] = self._typed_expression(column)
        return self._typed[column]

    def _typed_expression(self, column: str) -> str:
        reading = self.suite.reading(column)
        stored = self.stored_types.get(column, "VARCHAR")
        if reading.type == "native" and stored != "VARCHAR":
            return quote(column)
        text = self.text(column)
        match reading.type:
            case "native" | "text":
                return text
            case "integer":
                return f"try_cast({text} as bigint)"
            case "number":
                return f"try_cast(nullif(replace({text}, ',', ''), '.') as double)"
            case "percent":
                return f"try_cast(nullif(replace({text}, '%', ''), '.') as double)"
            case "dollars":
                negatives = f"regexp_replace({text}, '^\\((.*)\\)$', '-\\1')"
                return (
                    f"cast(try_cast(regexp_replace({negatives}, '[$,\\s]', '', 'g') "
                    "as decimal(18, 2)) as double)"
                )
            case "date" | "timestamp":
                iso = f"try_cast({text} as timestamp)"
                if reading.format is None:
                    return iso
                return f"coalesce(try_strptime({text}, {self._parameter(reading.format)}), {iso})"
            case "boolean":
                return (
                    f"case when lower({text}) in ('true', 't', 'y', 'yes', '1') then true "
                    f"when lower({text}) in ('false', 'f', 'n', 'no', '0') then false end"
                )
        raise AssertionError(reading.type)

    def add(self, rule: Rule) -> None:
        for column in rule.referenced_columns:
            if column in self.stored_types:
                self.expressions.setdefault(column, self.typed(column))
        column = rule.column
        if column is None or column not in self.stored_types:
            return
        typed = self.typed(column)
        if rule.check == "parses":
            raw = self.text(column)
            self.expressions[UNPARSED + column] = (
                f"case when {typed} is null and {raw} is not null then {raw} end"
            )
        elif rule.check == "finite":
            self.expressions[NONFINITE + column] = (
                f"case when not isfinite({typed}) then cast({typed} as varchar) end"
            )
        elif rule.check == "not_in_future":
            if self.suite.reading(column).type in {"integer", "number"}:
                self.expressions[WHEN + column] = typed  # a year
            else:
                self.expressions[WHEN + column] = f"cast({typed} as timestamp)"


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


@dataclass
class TableSnapshot:
    """What the checks need from the warehouse, read in one short connection."""

    suite: Suite  # with columns named by pattern resolved
    stored_types: dict[str, str]
    frame: pd.DataFrame
    scope: str
    counts: dict[str, RuleResult]


def read_table(
    con: duckdb.DuckDBPyConnection, suite: Suite, exports_dir: Path | None = None
) -> TableSnapshot:
    stored = stored_columns(con, suite)
    if not stored:
        raise LookupError(f"{suite.relation} does not exist in the warehouse")
    suite = suite.resolved(list(stored))
    projection = Projection(suite, stored)
    for rule in suite.rules:
        projection.add(rule)
    where, scope = "", "all rows"
    load = latest_load(con, suite.table) if suite.latest_load_only else None
    if load and "_load_id" in stored:
        where = f" where _load_id = {projection._parameter(load['load_id'])}"
        scope = f"rows of load {load['load_id']} ({load['mode']}, {load['scope']})"
    select = ", ".join(
        f"{expression} as {quote(name)}" for name, expression in projection.expressions.items()
    )
    relation = f"{quote(suite.schema_name)}.{quote(suite.table)}"
    if select:
        sql = f"select {select} from {relation}{where}"
    else:  # only table-level rules: the row count is all that is needed
        sql = f"select count(*) as n from {relation}{where}"
    frame = con.execute(sql, projection.parameters).df()
    if not select:
        frame = pd.DataFrame(index=range(int(frame["n"].iloc[0])))
    counts = {
        rule.name: row_count_change(con, suite, rule, len(frame), exports_dir)
        for rule in suite.rules
        if rule.check == "row_count_change"
    }
    return TableSnapshot(suite, stored, frame, scope, counts)


# --- row count against the previous load (SQL only) --------------------------------------------


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
    if baseline is None:
        return RuleResult(rule, True, observed=f"{rows_now:,} rows; no baseline ({what})")
    low = math.ceil(baseline * (1 - rule.max_drop_pct / 100))
    high = math.floor(baseline * rule.max_growth_factor) if rule.max_growth_factor else None
    passed = rows_now >= low and (high is None or rows_now <= high)
    change = (rows_now - baseline) / baseline * 100 if baseline else 0.0
    bounds = f"[{low:,}, {high:,}]" if high is not None else f">= {low:,}"
    return RuleResult(
        rule,
        passed,
        unexpected_count=0 if passed else abs(rows_now - baseline),
        observed=f"{rows_now:,} rows vs {baseline:,} in {what} ({change:+.1f}%); allowed {bounds}",
        expectation="row_count_within_bounds_of_baseline",
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


# --- Great Expectations ------------------------------------------------------------------------


@cache
def gx_context():
    """One ephemeral context per process: nothing written to disk, no analytics, no bars."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def expectation_for(rule: Rule, suite: Suite, now: datetime):
    """The Great Expectations expectation of a row-level rule (None: answered elsewhere)."""
    import great_expectations.expectations as gxe

    column = rule.column
    match rule.check:
        case "columns_exist":
            return gxe.ExpectTableColumnsToMatchSet(column_set=rule.columns, exact_match=False)
        case "not_null":
            return gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=rule.mostly)
        case "parses":
            return gxe.ExpectColumnValuesToBeNull(column=UNPARSED + column, mostly=rule.mostly)
        case "finite":
            return gxe.ExpectColumnValuesToBeNull(column=NONFINITE + column, mostly=rule.mostly)
        case "between":
            return gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=rule.min, max_value=rule.max, mostly=rule.mostly
            )
        case "not_in_future":
            latest = now + timedelta(days=rule.grace_days)
            if suite.reading(column).type in {"integer", "number"}:
                limit: Any = latest.year
            else:
                limit = pd.Timestamp(latest.replace(tzinfo=None))
            return gxe.ExpectColumnValuesToBeBetween(
                column=WHEN + column, max_value=limit, mostly=rule.mostly
            )
        case "in_set":
            return gxe.ExpectColumnValuesToBeInSet(
                column=column, value_set=rule.values, mostly=rule.mostly
            )
        case "matches":
            return gxe.ExpectColumnValuesToMatchRegex(
                column=column, regex=rule.pattern, mostly=rule.mostly
            )
        case "unique":
            if len(rule.columns) == 1:
                return gxe.ExpectColumnValuesToBeUnique(column=rule.columns[0], mostly=rule.mostly)
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=rule.columns, mostly=rule.mostly)
        case "row_count":
            return gxe.ExpectTableRowCountToBeBetween(
                min_value=None if rule.min is None else int(rule.min),
                max_value=None if rule.max is None else int(rule.max),
            )
    return None


def _example(value: Any) -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= EXAMPLE_LENGTH else text[: EXAMPLE_LENGTH - 1] + "…"


def _examples(values: list[Any]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        text = _example(value)
        if text not in seen:
            seen.append(text)
        if len(seen) == EXAMPLES:
            break
    return seen


def _from_gx(rule: Rule, outcome, rows: int) -> RuleResult:
    result = outcome.result or {}
    expectation = outcome.expectation_config.type
    exception = (outcome.exception_info or {}).get("exception_message")
    if exception:
        return RuleResult(rule, False, observed=f"error: {exception}", expectation=expectation)
    if rule.check == "columns_exist":
        missing = sorted(result.get("details", {}).get("mismatched", {}).get("missing", []))
        return RuleResult(
            rule,
            bool(outcome.success),
            unexpected_count=len(missing),
            examples=missing[:EXAMPLES],
            observed=f"missing: {missing}" if missing else "",
            expectation=expectation,
            rows_checked=rows,
        )
    if rule.check == "row_count":
        observed = result.get("observed_value")
        return RuleResult(
            rule,
            bool(outcome.success),
            unexpected_count=0 if outcome.success else observed,
            observed=f"{observed:,} rows" if isinstance(observed, int) else "",
            expectation=expectation,
            rows_checked=rows,
        )
    percent = result.get("unexpected_percent")
    return RuleResult(
        rule,
        bool(outcome.success),
        unexpected_count=int(result.get("unexpected_count") or 0),
        unexpected_percent=None if percent is None else round(float(percent), 4),
        examples=[]
        if rule.check == "not_null"
        else _examples(result.get("partial_unexpected_list") or []),
        expectation=expectation,
        rows_checked=rows,
    )


def validate(snapshot: TableSnapshot, now: datetime | None = None) -> list[RuleResult]:
    """Every rule of the snapshot's suite, in the suite's order."""
    import great_expectations as gx

    gx_context()  # suites need an active context
    now = now or datetime.now(UTC)
    suite = snapshot.suite
    results: dict[str, RuleResult] = dict(snapshot.counts)
    rows = len(snapshot.frame)
    suite_gx = gx.ExpectationSuite(name=f"{suite.relation}")
    by_id: dict[str, Rule] = {}
    for rule in suite.rules:
        if rule.name in results:
            continue
        missing = [c for c in rule.referenced_columns if c not in snapshot.stored_types]
        if missing and rule.check != "columns_exist":
            results[rule.name] = RuleResult(
                rule,
                False,
                unexpected_count=rows,
                observed=f"column(s) {missing} missing from {suite.relation}",
                rows_checked=rows,
            )
            continue
        expectation = expectation_for(rule, suite, now)
        expectation.meta = {"rule": rule.name}
        suite_gx.add_expectation(expectation)
        by_id[rule.name] = rule
    if by_id:
        batch = _batch(suite, snapshot.frame)
        outcome = batch.validate(suite_gx, result_format="SUMMARY")
        for item in outcome.results:
            rule = by_id[item.expectation_config.meta["rule"]]
            results[rule.name] = _from_gx(rule, item, rows)
    return [results[rule.name] for rule in suite.rules]


def _batch(suite: Suite, frame: pd.DataFrame):
    context = gx_context()
    try:
        source = context.data_sources.get("civic_warehouse")
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas("civic_warehouse")
    name = suite.relation
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        definition = asset.get_batch_definition("whole")
    except (KeyError, ValueError):
        definition = asset.add_batch_definition_whole_dataframe("whole")
    return definition.get_batch(batch_parameters={"dataframe": frame})


def run_suite(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    exports_dir: Path | None = None,
    now: datetime | None = None,
) -> list[RuleResult]:
    """Read the table (then the connection may close) and validate it: one result per rule."""
    return validate(read_table(con, suite, exports_dir), now)
