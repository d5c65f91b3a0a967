"""How a suite reads a column, as SQL: the typed value of each published text.

Raw columns are text as published; a suite's `columns:` says how to read one (integer,
number, dollars, date with a format, ...). `Projection` turns each reading into one DuckDB
expression, written once and shared by every rule on that column, so the loader's quarantine
and the checks read a value the same way. Column names are validated (suites, catalogs) and
quoted; every value (formats, missing markers, bounds) is a named query parameter.

With `helpers=True` the expressions are named columns of an inner select (`__t_<column>`),
so a value used by several rules (a date parsed for its partition, its `parses` rule and its
`not_in_future` rule) is computed once per row.
"""

from __future__ import annotations

from typing import Any

from pipelines.quality.suites import ColumnReading, Rule, Suite

UNPARSED = "__unparsed__"
NONFINITE = "__nonfinite__"
WHEN = "__when__"


def quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


class Projection:
    """Typed expressions of a suite's columns over a relation with `stored_types` columns."""

    def __init__(
        self,
        suite: Suite,
        stored_types: dict[str, str],
        *,
        prefix: str = "p",
        helpers: bool = False,
    ):
        self.suite = suite
        self.stored_types = stored_types
        self.parameters: dict[str, Any] = {}
        # Derived columns GE-style checks read (typed values, unreadable text, ...).
        self.expressions: dict[str, str] = {}
        # With helpers: alias -> expression, by nesting level (1: text, 2: typed values).
        self.helper_levels: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self._prefix = prefix
        self._helpers = helpers
        self._texts: dict[str, str] = {}
        self._typed: dict[str, str] = {}

    def parameter(self, value: Any) -> str:
        name = f"{self._prefix}{len(self.parameters)}"
        self.parameters[name] = value
        return f"${name}"

    def named(self, kind: str, column: str, expression: str) -> str:
        if not self._helpers:
            return expression
        alias = f"__{kind}_{column}"
        self.helper_levels[1][alias] = expression
        return quote(alias)

    def text(self, column: str) -> str:
        """The published text, trimmed; blank and the suite's missing markers are null.

        Written inline (not a helper column): typed readings read the raw value first and
        the text only when that fails, so most rows never compute it."""
        if column not in self._texts:
            self._texts[column] = self._text(column, self.suite.reading(column))
        return self._texts[column]

    def _text(self, column: str, reading: ColumnReading) -> str:
        value = quote(column)
        if self.stored_types.get(column, "VARCHAR") != "VARCHAR":
            value = f"cast({value} as varchar)"
        # trim() copies every string; only values that start or end with a space need it.
        trimmed = (
            f"case when starts_with({value}, ' ') or ends_with({value}, ' ') "
            f"then nullif(trim({value}), '') else nullif({value}, '') end"
        )
        if not reading.missing:
            return trimmed
        markers = self.parameter(reading.missing)
        return f"case when list_contains({markers}, {trimmed}) then null else {trimmed} end"

    def typed(self, column: str) -> str:
        """The column read as the suite says (computed once per projection)."""
        if column not in self._typed:
            reading = self.suite.reading(column)
            stored = self.stored_types.get(column, "VARCHAR")
            if reading.type == "native" and stored != "VARCHAR":
                self._typed[column] = quote(column)
            else:
                expression = self._typed_expression(column, reading)
                self._typed[column] = self.named("t", column, expression)
        return self._typed[column]

    def _typed_expression(self, column: str, reading: ColumnReading) -> str:
        full = self._full_reading(column, reading)
        if reading.missing or reading.type in {"native", "text"}:
            return full  # a missing marker may itself read as a value: no shortcut
        # DuckDB's casts take surrounding spaces (and give null on blanks): read the value as
        # it is first, the trimmed and cleaned text only when that fails. Same results, but
        # most values are read without building a new string.
        value = quote(column)
        if self.stored_types.get(column, "VARCHAR") != "VARCHAR":
            value = f"cast({value} as varchar)"
        match reading.type:
            case "integer":
                return f"try_cast({value} as bigint)"
            case "number" | "percent":
                return f"coalesce(try_cast({value} as double), {full})"
            case "dollars":
                return f"coalesce(cast(try_cast({value} as decimal(18, 2)) as double), {full})"
            case "date" | "timestamp":
                if reading.format is None:
                    return f"coalesce(try_cast({value} as timestamp), {full})"
                fmt = self.parameter(reading.format)
                return f"coalesce(try_strptime({value}, {fmt}), {full})"
            case "boolean":
                return f"coalesce(try_cast({value} as boolean), {full})"
        return full

    def _full_reading(self, column: str, reading: ColumnReading) -> str:
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
                return self.timestamp(text, reading.format)
            case "boolean":
                # DuckDB reads exactly true/t/y/yes/1 and false/f/n/no/0, in any case.
                return f"try_cast({text} as boolean)"
        raise AssertionError(reading.type)

    def timestamp(self, text: str, format: str | None) -> str:
        """The published format, else ISO 8601 (portal APIs): bundled and live read alike."""
        iso = f"try_cast({text} as timestamp)"
        if format is None:
            return iso
        return f"coalesce(try_strptime({text}, {self.parameter(format)}), {iso})"

    def add(self, rule: Rule) -> None:
        """The derived columns a rule reads (its column typed, unreadable text, ...)."""
        for column in rule.referenced_columns:
            if column in self.stored_types:
                self.expressions.setdefault(column, self.typed(column))
        column = rule.column
        if column is None or column not in self.stored_types:
            return
        typed = self.typed(column)
        if rule.check == "parses":
            raw = self.text(column)
            # The text is computed only for the values that did not read.
            self.expressions[UNPARSED + column] = f"case when {typed} is null then {raw} end"
        elif rule.check == "finite":
            self.expressions[NONFINITE + column] = (
                f"case when not isfinite({typed}) then cast({typed} as varchar) end"
            )
        elif rule.check == "not_in_future":
            if self.suite.reading(column).type in {"integer", "number"}:
                self.expressions[WHEN + column] = typed  # a year
            else:
                self.expressions[WHEN + column] = f"cast({typed} as timestamp)"

    @property
    def helper_names(self) -> list[str]:
        return [alias for level in self.helper_levels for alias in level]

    def wrap(self, relation_sql: str) -> str:
        """`relation_sql` with the helper columns added, each level in its own select so a
        value is computed once per row however many rules read it."""
        sql = relation_sql
        for level in self.helper_levels:
            if level:
                columns = ", ".join(f"{expr} as {quote(alias)}" for alias, expr in level.items())
                sql = f"select *, {columns} from ({sql})"
        return sql
