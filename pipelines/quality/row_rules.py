"""Row-level rules of a quality suite: applied at load time, where a bad row can be set aside.

A critical rule about single values (`parses`, `not_null`, `finite`, `between`,
`not_in_future`, `in_set`, `matches`, with `mostly: 1`) can be fixed by setting the failing
rows aside: while a raw table stages (`pipelines.loader.staging`), each row is marked with
the first such rule it fails, and marked rows go to `meta.quarantined_rows` instead of the
table. Table-level rules (required columns, uniqueness, row counts) and rules with a `mostly`
tolerance are judged on the whole load instead (`pipelines.loader.checks`): dropping rows
cannot fix them.

The predicates are the checks' own (`pipelines.quality.evaluate.column_test`, over the same
typed readings), so a load's quarantine and its checks agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipelines.quality.suites import ColumnReading, Rule, Suite

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


def is_row_rule(rule: Rule) -> bool:
    return rule.check in ROW_CHECKS and rule.blocking and rule.mostly >= 1.0


def row_rules(suite: Suite) -> list[RowRule]:
    """The rules of `suite` that quarantine rows at load time, in the suite's order."""
    return [RowRule(rule, dict(suite.columns)) for rule in suite.rules if is_row_rule(rule)]
