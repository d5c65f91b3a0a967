"""Staging in one pass: read the source, name the columns, date each row, mark the bad ones.

One `create table ... as select` reads the source (a connector's DuckDB query over local
files, or Arrow batches from a portal) into `raw.<table>__loading` and, in the same pass,
computes for every row:

- `_partition`, the month of the row's date (dated tables), parsed once: when the suite reads
  the partition column as a date in the same format, the rules use that same value;
- `_rejected`, the first rule the row fails, or null: an unreadable or out-of-range date, a
  critical single-value rule of the quality suite, a number that does not fit the column's
  stated format, a control character. Each rule is evaluated once per row; typed values are
  computed once however many rules read them (`Projection(helpers=True)`).

The load then moves the marked rows to `meta.quarantined_rows` and drops the column: good
rows are never copied a second time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from pipelines.catalog import NumberFormat
from pipelines.loader.common import REJECTED, MonthRange, quote
from pipelines.loader.numbers import needs_rewrite, normalized, pattern
from pipelines.quality.evaluate import column_test, guarded
from pipelines.quality.projection import Projection
from pipelines.quality.suites import Suite

# C0 control characters but tab, line feed and carriage return (legitimate inside quoted CSV
# fields), and DEL. A NUL cuts strings short in C tools, so a value holding one is not
# trusted: its row is quarantined. The others are stray bytes of a bad export (NYC's school
# names hold \x16 where a dash was): they are stripped, and counted.
CONTROL_CHARACTERS = "[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
NUL_RULE = "no_nul_character"


def unreadable_date_rule(column: str) -> str:
    return f"unreadable date in {column}"


def outside_rule(column: str, months: MonthRange) -> str:
    return f"{column} outside {months.describe()}"


def number_rule(column: str) -> str:
    return f"{column}_number_format"


@dataclass
class StagingQuery:
    """The select that fills the staging table, with its parameters."""

    sql: str
    parameters: dict[str, Any]
    partition: str | None  # the staged column the months are read from
    rules: list[str] = field(default_factory=list)  # names `_rejected` may hold
    numbers: dict[str, NumberFormat] = field(default_factory=dict)  # stated formats, staged
    control_check: str | None = None  # which rows may hold control characters (SQL), if any
    # Suite rules the partition date already judged (its not-null and parses rules): rule name
    # -> the staging rule that quarantines their rows, so the date is never parsed again.
    subsumed: dict[str, str] = field(default_factory=dict)


def staging_query(
    source_sql: str,
    columns: Sequence[str],
    stored_types: Mapping[str, str],
    *,
    suite: Suite | None,
    row_rule_names: Sequence[str],
    months: MonthRange | None,
    partition_column: str | None,
    numbers: Mapping[str, NumberFormat],
    control_check: str | None,
    now: datetime | None = None,
) -> StagingQuery:
    """`source_sql` selects `columns` (already renamed) plus the load metadata columns.

    `control_check`: None (the source was scanned and is clean), "all" (check every text
    value) or a SQL condition on the row (e.g. the files the scan flagged).
    """
    now = now or datetime.now(UTC)
    empty = Suite(schema_name="raw", table="staging", columns={}, rules=(), files=())
    suite = (suite or empty).resolved(list(stored_types))
    projection = Projection(suite, dict(stored_types), prefix="st", helpers=True)
    cases: list[tuple[str, str]] = []  # (condition, rule name or None for "leave out")
    partition_sql = None
    subsumed = False  # the suite reads the partition column as the partition does
    if months is not None and partition_column is not None:
        reading = suite.reading(partition_column)
        same_reading = reading.type in {"date", "timestamp"} and reading.format == months.format
        subsumed = same_reading and not reading.missing
        if same_reading:
            when = projection.typed(partition_column)
        else:
            text = projection.text(partition_column)
            when = projection.named(
                "t", f"partition_{partition_column}", projection.timestamp(text, months.format)
            )
        partition_sql = f"cast(date_trunc('month', {when}) as date)"
        cases.append((f"{when} is null", unreadable_date_rule(partition_column)))
        start = projection.parameter(datetime.combine(months.start, time()))
        end = projection.parameter(datetime.combine(months.end, time()))
        outside = f"{when} < {start} or {when} >= {end}"  # the months, as timestamps
        # Rows of other months are not this load's business (a month load keeps them out).
        cases.append(
            (outside, outside_rule(partition_column, months) if months.whole_range else "")
        )
    originals = []
    rewrites = []
    for column, fmt in numbers.items():
        if column not in stored_types:
            continue
        original = quote(f"__n_{column}")  # the value as published, before any rewrite
        originals.append(f"{quote(column)} as {original}")
        regex = projection.parameter(pattern(fmt))
        fits = f"regexp_full_match(trim({original}), {regex})"
        cases.append((f"{projection.text(column)} is not null and not {fits}", number_rule(column)))
        if needs_rewrite(fmt):  # one format for every reader downstream: '-1234.56'
            value = quote(column)
            rewrites.append(
                f"case when regexp_full_match(trim({value}), {regex}) "
                f"then {normalized(value, fmt)} else {value} end as {value}"
            )
    if originals:  # checked before the suite's rules: the first failure is the cause
        replace = f" replace ({', '.join(rewrites)})" if rewrites else ""
        source_sql = f"select *{replace}, {', '.join(originals)} from ({source_sql})"
    by_name = {rule.name: rule for rule in suite.rules}
    covered = {}
    for name in row_rule_names:
        rule = by_name.get(name)
        on_partition = rule is not None and subsumed and rule.column == partition_column
        if on_partition and rule.check in {"not_null", "parses"}:
            # An unreadable or missing date is already the first rule above.
            covered[name] = unreadable_date_rule(partition_column)
            continue
        test = column_test(projection, rule, now) if rule is not None else None
        if test is not None:
            cases.append((guarded(test.predicate), name))
    if control_check is not None:
        text_columns = [c for c in columns if stored_types.get(c) == "VARCHAR"]
        if text_columns:
            nul = projection.parameter("\x00")
            found = " or ".join(
                f"coalesce(contains({quote(c)}, {nul}), false)" for c in text_columns
            )
            condition = found if control_check == "all" else f"({control_check}) and ({found})"
            cases.append((condition, NUL_RULE))
    rule_names: list[str] = []
    branches = []
    for condition, name in cases:
        if name:
            rule_names.append(name)
            branches.append(f"when {condition} then {projection.parameter(name)}")
        else:
            branches.append(f"when {condition} then null")
    rejected = f"case {' '.join(branches)} end" if branches else "null::varchar"
    helpers = [*projection.helper_names, *(f"__n_{c}" for c in numbers if c in stored_types)]
    keep = f"* exclude ({', '.join(quote(h) for h in helpers)})" if helpers else "*"
    partition = f", {partition_sql} as _partition" if partition_sql else ""
    sql = (
        f"select {keep}{partition}, cast({rejected} as varchar) as {REJECTED} "
        f"from ({projection.wrap(source_sql)})"
    )
    return StagingQuery(
        sql,
        projection.parameters,
        partition_column,
        rule_names,
        dict(numbers),
        None if control_check is None else "true" if control_check == "all" else control_check,
        covered,
    )


def strip_control_characters(
    con,
    staging: str,
    columns: Sequence[str],
    stored_types: Mapping[str, str],
    where: str,
    parameters: Mapping[str, Any],
) -> dict[str, int]:
    """Remove control characters (not NUL: those rows are quarantined) from the text of the
    rows `where` selects; values changed per column."""
    changed = {}
    for column in columns:
        if stored_types.get(column) != "VARCHAR":
            continue
        name = quote(column)
        (count,) = con.execute(
            f"update {staging} set {name} = regexp_replace({name}, $control, '', 'g') "
            f"where {REJECTED} is null and ({where}) and regexp_matches({name}, $control)",
            {**parameters, "control": CONTROL_CHARACTERS},
        ).fetchone()
        if count:
            changed[column] = int(count)
    return changed
