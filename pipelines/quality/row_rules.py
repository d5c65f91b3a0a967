"""Row-level rules of a quality suite as SQL predicates, applied at load time (quarantine).

A critical rule about single values (`parses`, `not_null`, `finite`, `between`,
`not_in_future`, `in_set`, `matches`, with `mostly: 1`) can be fixed by setting the failing
rows aside: `pipelines.loading.load_raw_table(..., row_rules=row_rules(suite))` evaluates the
predicates on the staging table inside the load's transaction, copies the failing rows to
`meta.quarantined_rows` (with the rule's name) and swaps in the rest. Table-level rules
(required columns, uniqueness, row counts) and rules with a `mostly` tolerance stay Dagster
asset checks: dropping rows cannot fix them.

The predicates read each column exactly as the Great Expectations checks do (the same
`Projection` of `pipelines.quality.runner`), so a load's quarantine and its checks agree.
Column names are validated (suite files) and quoted; every value (bounds, sets, patterns,
formats, missing markers, rule names) is a query parameter, never spliced into the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.quality.suites import COLUMN_NAME, ColumnReading, Rule, Suite

ROW_CHECKS = frozenset(
    {"parses", "not_null", "finite", "between", "not_in_future", "in_set", "matches"}
)


@dataclass(frozen=True)
class RowRule:
    """A critical single-value rule of a suite, with the suite's column readings."""

    rule: Rule
    readings: Mapping[str, ColumnReading]

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True)
class BadRowPredicates:
    """`(rule name, SQL predicate true for a bad row)` pairs and the parameters they use."""

    pairs: list[tuple[str, str]]
    parameters: dict[str, Any]


def is_row_rule(rule: Rule) -> bool:
    return rule.check in ROW_CHECKS and rule.blocking and rule.mostly >= 1.0


def row_rules(suite: Suite) -> list[RowRule]:
    """The rules of `suite` that quarantine rows at load time, in the suite's order."""
    return [RowRule(rule, dict(suite.columns)) for rule in suite.rules if is_row_rule(rule)]


def bad_row_predicates(
    rules: Sequence[RowRule],
    table: str,
    stored_types: Mapping[str, str],
    now: datetime | None = None,
    parameter_prefix: str = "rr",
) -> BadRowPredicates:
    """SQL predicates over a table with columns `stored_types` (name -> DuckDB type).

    A rule whose column the table lacks is skipped: the suite's checks report the missing
    column (a table-level failure, which no quarantine can fix).
    """
    # Imported here: the runner imports pipelines.loading, which imports this module lazily.
    from pipelines.quality.runner import NONFINITE, UNPARSED, WHEN

    if not rules:
        return BadRowPredicates([], {})
    now = now or datetime.now(UTC)
    readings: dict[str, ColumnReading] = {}
    for row_rule in rules:
        readings.update(row_rule.readings)
    suite = Suite(
        schema_name="raw",
        table=table,
        columns=readings,
        rules=tuple(row_rule.rule for row_rule in rules),
        files=(),
    ).resolved(list(stored_types))
    projection = _PrefixedProjection(suite, dict(stored_types), parameter_prefix)
    pairs: list[tuple[str, str]] = []
    for rule in suite.rules:
        column = rule.column
        if column is None or column not in stored_types or not COLUMN_NAME.match(column):
            continue
        projection.add(rule)
        typed = projection.typed(column)
        match rule.check:
            case "parses":
                predicate = projection.expressions[UNPARSED + column] + " is not null"
            case "not_null":
                predicate = f"{typed} is null"
            case "finite":
                predicate = projection.expressions[NONFINITE + column] + " is not null"
            case "between":
                bounds = []
                if rule.min is not None:
                    bounds.append(f"{typed} < {projection.parameter(rule.min)}")
                if rule.max is not None:
                    bounds.append(f"{typed} > {projection.parameter(rule.max)}")
                predicate = " or ".join(bounds)
            case "not_in_future":
                latest = now + timedelta(days=rule.grace_days)
                if suite.reading(column).type in {"integer", "number"}:
                    limit: Any = latest.year  # a year
                else:
                    limit = latest.astimezone(UTC).replace(tzinfo=None)
                when = projection.expressions[WHEN + column]
                predicate = f"{when} > {projection.parameter(limit)}"
            case "in_set":
                values = projection.parameter(list(rule.values))
                predicate = f"not list_contains({values}, cast({typed} as varchar))"
            case "matches":
                pattern = projection.parameter(rule.pattern)
                predicate = f"not regexp_matches(cast({typed} as varchar), {pattern})"
            case _:
                continue
        # Null means "not known to be bad" (Great Expectations skips missing values too).
        pairs.append((rule.name, f"coalesce(({predicate}), false)"))
    return BadRowPredicates(pairs, projection.parameters)


class _PrefixedProjection:
    """The runner's Projection, with parameter names that cannot clash with the loader's."""

    def __init__(self, suite: Suite, stored_types: dict[str, str], prefix: str):
        from pipelines.quality.runner import Projection

        self._projection = Projection(suite, stored_types)
        self._prefix = prefix
        inner = self._projection

        def _parameter(value: Any) -> str:
            name = f"{prefix}{len(inner.parameters)}"
            inner.parameters[name] = value
            return f"${name}"

        inner._parameter = _parameter  # type: ignore[method-assign]

    @property
    def parameters(self) -> dict[str, Any]:
        return self._projection.parameters

    @property
    def expressions(self) -> dict[str, str]:
        return self._projection.expressions

    def parameter(self, value: Any) -> str:
        return self._projection._parameter(value)

    def typed(self, column: str) -> str:
        return self._projection.typed(column)

    def add(self, rule: Rule) -> None:
        self._projection.add(rule)
