"""The quality suite judged on the staged rows, before they replace anything.

Every rule of a raw table's suite is evaluated once per load, here, inside DuckDB:

- critical single-value rules already marked the rows they reject while staging (those rows
  are quarantined): their result reports the rows set aside;
- every other rule (required columns, keys, row counts, rules with a tolerance, warnings) is
  one aggregate query over the rows about to be swapped in (`pipelines.quality.evaluate`);
- the row count is compared with the rows the load replaces (the whole table, its months or
  its files): a load that would empty or gut them fails the critical `row_count_change`
  rule, so a header-only file cannot empty a dated table.

A critical rule that fails refuses the load (see `refusal`); the results are stored with the
load in `meta.check_results` and reported as the raw asset's Dagster checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipelines.loader.common import REJECTED, LoadError, table_columns
from pipelines.loader.numbers import COMMA, Detection, detection_sql, file_format
from pipelines.loader.swap import WriteMode
from pipelines.quality.evaluate import EXPECTATIONS, RuleResult, evaluate
from pipelines.quality.projection import Projection
from pipelines.quality.runner import compare_rows
from pipelines.quality.suites import Suite

NUMBER_READINGS = {"number", "dollars", "percent"}


def staged_types(con, table: str) -> dict[str, str]:
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [f"{table}__loading"],
        ).fetchall()
    )


def detect_numbers(con, staging: str, table: str, staged, suite: Suite | None) -> dict:
    """Columns the suite reads as numbers, with no format stated: their format, detected from
    the whole column (refusing mixed or ambiguous columns). Returns the formats the staging
    must apply: decimal-comma columns (rewritten with a decimal point) and columns holding
    values that fit neither format (quarantined); {} when the staged rows are fine as they are.
    """
    declared = staged.query.numbers
    columns = []
    if suite is not None:
        resolved = suite.resolved(staged.names)
        columns = [
            name
            for name in staged.names
            if name not in declared and resolved.reading(name).type in NUMBER_READINGS
        ]
    if not columns:
        return {}
    projection = Projection(
        (suite or _empty(table)).resolved(staged.names), dict(staged.stored), prefix="nd"
    )
    # FRED writes a missing value as '.', which every number reading takes as missing.
    texts = {name: f"nullif({projection.text(name)}, '.')" for name in columns}
    aggregates, parameters = [], dict(projection.parameters)
    for text in texts.values():
        sql, params = detection_sql(text)
        aggregates += sql
        parameters.update(params)
    row = con.execute(
        f"select {', '.join(aggregates)} from {staging} where {REJECTED} is null", parameters
    ).fetchone()
    detections = {
        name: Detection(name, *row[index * 7 : index * 7 + 7]) for index, name in enumerate(texts)
    }
    convention = file_format(list(detections.values()))
    apply = {}
    for name, found in detections.items():
        found = replace(found, file_format=convention)
        problem = found.problem(table, _published(staged, name))
        if problem:
            raise LoadError(problem)
        if found.format is COMMA or found.neither:
            apply[name] = found.format
    return apply


def _published(staged, name: str) -> str:
    return staged.published.get(name, name)


def _empty(table: str) -> Suite:
    return Suite(schema_name="raw", table=table, columns={}, rules=(), files=())


def judge_staged_rows(
    con,
    staging: str,
    table: str,
    staged,
    suite: Suite | None,
    mode: WriteMode,
    before: int | None,
    quarantined: dict[str, int],
) -> list[RuleResult]:
    """Every rule of the suite on the rows about to be swapped in, in suite order."""
    if suite is None:
        return []
    stored = staged_types(con, table)
    suite = suite.resolved(list(stored))
    scope, bounds = mode.in_scope()
    # Rules judged while staging report the rows they quarantined, under their own name or
    # under the date rule that covers them; only the others need a pass over the rows.
    covered = dict(staged.query.subsumed)
    marked = set(staged.query.rules) | set(covered)
    others = [r for r in suite.rules if r.name not in marked and r.check != "row_count_change"]
    relation = staging
    results = evaluate(con, suite, relation, stored, where=scope, parameters=bounds, rules=others)
    (rows,) = con.execute(f"select count(*) from {staging} where {scope}", bounds).fetchone()
    for rule in suite.rules:
        if rule.name in marked:
            count = quarantined.get(covered.get(rule.name, rule.name), 0)
            results[rule.name] = RuleResult(
                rule,
                True,
                unexpected_count=0,
                unexpected_percent=0.0 if rows else None,
                observed=(
                    f"{count:,} row(s) quarantined at load (meta.quarantined_rows)" if count else ""
                ),
                expectation=EXPECTATIONS[rule.check],
                rows_checked=rows + count,
            )
        elif rule.check == "row_count_change":
            what = "the rows this load replaces" if before is not None else "no baseline"
            results[rule.name] = compare_rows(rule, int(rows), before, what)
    return [results[rule.name] for rule in suite.rules if rule.name in results]


def blocking_failures(checks: Sequence[RuleResult], allow_shrink: bool) -> list[RuleResult]:
    return [
        result
        for result in checks
        if not result.passed
        and result.rule.blocking
        and not (allow_shrink and result.rule.check == "row_count_change")
    ]


def refusal(table: str, mode: WriteMode, failed: Sequence[RuleResult], before) -> str:
    """The refused load's message: what failed, that nothing changed, what to do next."""
    reasons = "; ".join(result.describe() for result in failed)
    message = (
        f"raw.{table}: load refused before anything was replaced ({mode.name}, "
        f"{mode.scope()}): {reasons}; previous data kept"
    )
    if any(r.rule.check == "row_count_change" for r in failed):
        message += (
            ". The load would empty or gut what it replaces: if the source really has fewer "
            "rows now, re-run with --allow-shrink"
        )
    elif any(r.rule.check == "columns_exist" for r in failed):
        message += ". The source lacks required columns: check the file or the catalog mapping"
    else:
        message += ". Fix the source (or the rule in sources/quality/) and re-run the load"
    return message


def record_check_results(con, table: str, load_id: str, checks: Sequence[RuleResult]) -> None:
    """Keep the outcome with the load (meta.check_results), in the load's transaction, so the
    data-health mart and `civic status` report checks without the Dagster instance."""
    if not checks:
        return
    con.executemany(
        "insert into meta.check_results values (?, ?, ?, ?, ?, now(), ?, ?)",
        [
            (
                table,
                result.rule.name,
                "error" if result.rule.blocking else "warn",
                result.passed,
                result.unexpected_count,
                load_id,
                result.describe(),
            )
            for result in checks
        ],
    )


__all__ = [
    "blocking_failures",
    "detect_numbers",
    "judge_staged_rows",
    "record_check_results",
    "refusal",
    "table_columns",
]
