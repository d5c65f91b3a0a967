"""The suites' language: each rule kind as the Great Expectations expectation it is.

The pipeline computes the rules in DuckDB SQL (`pipelines.quality.evaluate`); this module runs
the same rules with Great Expectations itself over a pandas frame of the same typed readings.
It is the reference the SQL is tested against (tests/test_quality.py) and a way to run a
suite by hand on a small table; the pipeline never imports it (Great Expectations has no
DuckDB support, and importing it costs seconds).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import duckdb
import pandas as pd

from pipelines.quality.evaluate import EXAMPLES, RuleResult, _examples
from pipelines.quality.projection import NONFINITE, UNPARSED, WHEN, Projection, quote
from pipelines.quality.suites import Rule, Suite


def read_frame(
    con: duckdb.DuckDBPyConnection, suite: Suite, relation: str, stored: dict[str, str]
) -> tuple[Suite, pd.DataFrame]:
    """The columns the rules read, in their typed readings, as a pandas frame (small tables)."""
    suite = suite.resolved(list(stored))
    projection = Projection(suite, stored)
    for rule in suite.rules:
        projection.add(rule)
    select = ", ".join(f"{sql} as {quote(name)}" for name, sql in projection.expressions.items())
    if not select:
        rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
        return suite, pd.DataFrame(index=range(rows))
    return suite, con.execute(f"select {select} from {relation}", projection.parameters).df()


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


def validate_frame(
    suite: Suite, frame: pd.DataFrame, stored_types: dict[str, str], now: datetime | None = None
) -> list[RuleResult]:
    """Every rule of `suite` but row-count changes, with Great Expectations, in suite order."""
    import great_expectations as gx

    gx_context()  # suites need an active context
    now = now or datetime.now(UTC)
    results: dict[str, RuleResult] = {}
    rows = len(frame)
    suite_gx = gx.ExpectationSuite(name=f"{suite.relation}")
    by_id: dict[str, Rule] = {}
    for rule in suite.rules:
        if rule.check == "row_count_change":
            continue
        missing = [c for c in rule.referenced_columns if c not in stored_types]
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
        batch = _batch(suite, frame)
        outcome = batch.validate(suite_gx, result_format="SUMMARY")
        for item in outcome.results:
            rule = by_id[item.expectation_config.meta["rule"]]
            results[rule.name] = _from_gx(rule, item, rows)
    return [results[rule.name] for rule in suite.rules if rule.name in results]


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
