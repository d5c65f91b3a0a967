"""Evaluate a suite's rules where the data live: SQL over the DuckDB table, no copy in Python.

Each rule kind is a Great Expectations expectation (the suites' language, see
`pipelines.quality.expectations`); here it is computed as DuckDB SQL with Great Expectations'
semantics (what counts as unexpected, which rows a percentage is over, how `mostly` is
judged), checked against Great Expectations itself on the real tables in the tests. Every
column rule of a suite is answered by one aggregate query over the table (each value read
once, in its typed reading); the few unexpected values shown as examples are fetched only for
the rules that fail; uniqueness is one group-by per key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from pipelines.quality.projection import NONFINITE, UNPARSED, WHEN, Projection, quote
from pipelines.quality.suites import COLUMN_NAME, Rule, Suite

EXAMPLES = 5  # distinct unexpected values reported per rule
EXAMPLE_LENGTH = 80  # characters kept of each example value
SCANNED_EXAMPLES = 20  # unexpected values read to find the distinct examples (GE's partial list)

# The Great Expectations expectation each check is (reported in every result's metadata).
EXPECTATIONS = {
    "columns_exist": "expect_table_columns_to_match_set",
    "not_null": "expect_column_values_to_not_be_null",
    "parses": "expect_column_values_to_be_null",  # on the text of values that do not read
    "finite": "expect_column_values_to_be_null",  # on the text of NaN and infinite values
    "between": "expect_column_values_to_be_between",
    "not_in_future": "expect_column_values_to_be_between",
    "in_set": "expect_column_values_to_be_in_set",
    "matches": "expect_column_values_to_match_regex",
    "unique": "expect_column_values_to_be_unique",
    "row_count": "expect_table_row_count_to_be_between",
    "row_count_change": "row_count_within_bounds_of_baseline",
}
COLUMN_CHECKS = frozenset(
    {"not_null", "parses", "finite", "between", "not_in_future", "in_set", "matches"}
)
# Checks whose percentage is over every row (the expectation is about nullity) rather than
# over the values present.
OVER_ALL_ROWS = frozenset({"not_null", "parses", "finite"})


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


@dataclass(frozen=True)
class ColumnTest:
    """A column rule as SQL over the projection: bad-value predicate, shown value, base."""

    predicate: str  # true for an unexpected value (null: not known to be bad)
    shown: str | None  # the value shown as an example (None: no examples, e.g. not_null)
    present: str | None  # counted as the percentage's base (None: every row)


def column_test(projection: Projection, rule: Rule, now: datetime) -> ColumnTest | None:
    """The SQL of a column rule, or None when its column is not in the table."""
    column = rule.column
    if column is None or column not in projection.stored_types or not COLUMN_NAME.match(column):
        return None
    projection.add(rule)
    typed = projection.typed(column)
    expressions = projection.expressions
    match rule.check:
        case "not_null":
            return ColumnTest(f"{typed} is null", None, None)
        case "parses":
            unparsed = expressions[UNPARSED + column]
            return ColumnTest(f"{unparsed} is not null", unparsed, None)
        case "finite":
            nonfinite = expressions[NONFINITE + column]
            return ColumnTest(f"{nonfinite} is not null", nonfinite, None)
        case "between":
            bounds = []
            if rule.min is not None:
                bounds.append(f"{typed} < {projection.parameter(rule.min)}")
            if rule.max is not None:
                bounds.append(f"{typed} > {projection.parameter(rule.max)}")
            return ColumnTest(" or ".join(bounds), typed, typed)
        case "not_in_future":
            latest = now + timedelta(days=rule.grace_days)
            if projection.suite.reading(column).type in {"integer", "number"}:
                limit: Any = latest.year  # a year
            else:
                limit = latest.astimezone(UTC).replace(tzinfo=None)
            when = expressions[WHEN + column]
            return ColumnTest(f"{when} > {projection.parameter(limit)}", when, when)
        case "in_set":
            values = projection.parameter(list(rule.values))  # a hash set, not a list scan
            return ColumnTest(
                f"not (cast({typed} as varchar) in (select unnest({values})))", typed, typed
            )
        case "matches":
            pattern = projection.parameter(rule.pattern)
            return ColumnTest(
                f"not regexp_matches(cast({typed} as varchar), {pattern})", typed, typed
            )
    return None


def guarded(predicate: str) -> str:
    """Null means "not known to be bad" (Great Expectations skips missing values too)."""
    return f"coalesce(({predicate}), false)"


def evaluate(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    relation: str,
    stored_types: dict[str, str],
    *,
    where: str = "true",
    parameters: dict[str, Any] | None = None,
    rules: Sequence[Rule] | None = None,
    now: datetime | None = None,
) -> dict[str, RuleResult]:
    """Results of `rules` (default: the suite's) over the rows of `relation` matching `where`.

    `row_count_change` rules are not answered here (they need a baseline; see the callers).
    """
    now = now or datetime.now(UTC)
    suite = suite.resolved(list(stored_types))
    chosen = list(suite.rules) if rules is None else _resolved(suite, rules)
    projection = Projection(suite, stored_types, prefix="q", helpers=True)
    scoped = f"select * from {relation} where {where}"
    tests: dict[str, ColumnTest] = {}
    results: dict[str, RuleResult] = {}
    for rule in chosen:
        if rule.check == "row_count_change":
            continue
        missing = [c for c in rule.referenced_columns if c not in stored_types]
        if missing and rule.check != "columns_exist":
            results[rule.name] = RuleResult(
                rule,
                False,
                observed=f"column(s) {missing} missing from {suite.relation}",
                expectation=EXPECTATIONS[rule.check],
            )
            continue
        if rule.check in COLUMN_CHECKS:
            test = column_test(projection, rule, now)
            if test is not None:
                tests[rule.name] = test
        elif rule.check == "unique":
            for column in rule.columns:
                projection.typed(column)  # a helper column of the query built below
    # One pass for the row count and every column rule.
    aggregates = ["count(*)"]
    for test in tests.values():
        aggregates.append(f"coalesce(count_if({guarded(test.predicate)}), 0)")
        aggregates.append(f"count({test.present})" if test.present else "count(*)")
    params = {**(parameters or {}), **projection.parameters}
    wrapped = projection.wrap(scoped)
    row = run(con, f"select {', '.join(aggregates)} from ({wrapped})", params).fetchone()
    rows = int(row[0])
    counts = iter(row[1:])
    by_rule = {rule.name: rule for rule in chosen}
    for name, test in tests.items():
        rule = by_rule[name]
        unexpected, present = int(next(counts)), int(next(counts))
        examples = []
        if unexpected and test.shown is not None:
            values = run(
                con,
                f"select {test.shown} from ({wrapped}) where {guarded(test.predicate)} "
                f"limit {SCANNED_EXAMPLES}",
                params,
            ).fetchall()
            examples = _examples([value for (value,) in values])
        results[name] = _column_result(rule, unexpected, present, rows, examples)
    for rule in chosen:
        if rule.name in results or rule.check == "row_count_change":
            continue
        if rule.check == "columns_exist":
            results[rule.name] = _columns_result(rule, stored_types, rows)
        elif rule.check == "row_count":
            results[rule.name] = _row_count_result(rule, rows)
        elif rule.check == "unique":
            results[rule.name] = _unique_result(con, rule, projection, wrapped, params, rows)
    return results


def run(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, Any]):
    """Execute with the parameters `sql` names (DuckDB refuses unused ones)."""
    used = {name: value for name, value in parameters.items() if re.search(rf"\${name}\b", sql)}
    return con.execute(sql, used)


def _resolved(suite: Suite, rules: Sequence[Rule]) -> list[Rule]:
    names = {rule.name for rule in rules}
    return [rule for rule in suite.rules if rule.name in names]


def _column_result(
    rule: Rule, unexpected: int, present: int, rows: int, examples: list[str]
) -> RuleResult:
    base = rows if rule.check in OVER_ALL_ROWS else present
    percent = None if base == 0 else round(unexpected / base * 100, 4)
    passed = base == 0 or (base - unexpected) / base >= rule.mostly
    return RuleResult(
        rule,
        passed,
        unexpected_count=unexpected,
        unexpected_percent=percent,
        examples=[] if rule.check == "not_null" else examples,
        expectation=EXPECTATIONS[rule.check],
        rows_checked=rows,
    )


def _columns_result(rule: Rule, stored_types: dict[str, str], rows: int) -> RuleResult:
    missing = sorted(set(rule.columns) - set(stored_types))
    return RuleResult(
        rule,
        not missing,
        unexpected_count=len(missing),
        examples=missing[:EXAMPLES],
        observed=f"missing: {missing}" if missing else "",
        expectation=EXPECTATIONS[rule.check],
        rows_checked=rows,
    )


def _row_count_result(rule: Rule, rows: int) -> RuleResult:
    low = -math.inf if rule.min is None else int(rule.min)
    high = math.inf if rule.max is None else int(rule.max)
    passed = low <= rows <= high
    return RuleResult(
        rule,
        passed,
        unexpected_count=0 if passed else rows,
        observed=f"{rows:,} rows",
        expectation=EXPECTATIONS[rule.check],
        rows_checked=rows,
    )


def _unique_result(con, rule: Rule, projection: Projection, wrapped, params, rows) -> RuleResult:
    """Rows whose key is repeated (every copy counts, as in Great Expectations); rows whose
    key columns are all missing are left out."""
    keys = [projection.typed(column) for column in rule.columns]
    key_list = ", ".join(keys)
    present = " or ".join(f"{key} is not null" for key in keys)
    groups = (
        f"select {key_list}, count(*) as copies from ({wrapped}) where {present} "
        f"group by all having count(*) > 1"
    )
    unexpected, repeated = run(
        con, f"select coalesce(sum(copies), 0), count(*) from ({groups})", params
    ).fetchone()
    (base,) = run(con, f"select count(*) from ({wrapped}) where {present}", params).fetchone()
    examples: list[str] = []
    if repeated:
        names = [f"k{i}" for i in range(len(keys))]
        aliased = ", ".join(f"{key} as {name}" for key, name in zip(keys, names, strict=True))
        values = run(
            con,
            f"select {aliased} from ({wrapped}) where {present} group by all "
            f"having count(*) > 1 order by all limit {EXAMPLES}",
            params,
        ).fetchall()
        if len(keys) == 1:
            examples = _examples([value[0] for value in values])
        else:
            examples = _examples([dict(zip(rule.columns, value, strict=True)) for value in values])
    unexpected = int(unexpected)
    percent = None if base == 0 else round(unexpected / base * 100, 4)
    passed = base == 0 or (base - unexpected) / base >= rule.mostly
    expectation = (
        EXPECTATIONS["unique"] if len(keys) == 1 else "expect_compound_columns_to_be_unique"
    )
    return RuleResult(
        rule,
        passed,
        unexpected_count=unexpected,
        unexpected_percent=percent,
        examples=examples,
        expectation=expectation,
        rows_checked=rows,
    )


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


__all__ = ["EXPECTATIONS", "RuleResult", "column_test", "evaluate", "guarded", "quote"]
