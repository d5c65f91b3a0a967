"""Expectation suites as data: which rules each warehouse table must pass, read from YAML.

The rules of a raw table are assembled from three files, later ones overriding earlier rules
of the same name (and column readings of the same column):

1. `sources/quality/defaults.yml`: every raw table (row count against the previous load);
2. `sources/quality/canonical/<canonical table>.yml`: every raw table that `feeds` it, so a
   new city mapped onto canonical tables is checked with no file of its own;
3. `sources/quality/raw/<raw table>.yml`: the table's own rules.

Marts have one file each, `sources/quality/marts/<model>.yml`. Raw columns are text as
published; a suite says how to read a column (`columns:`), and the rules test the reading.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from pipelines.catalog import Dataset
from pipelines.config_base import FrozenStrict as Strict
from pipelines.config_base import explain
from pipelines.settings import SOURCES_DIR

QUALITY_DIR = SOURCES_DIR / "quality"
# Raw column names come from published headers ('2019_ordinance_amount'): quoted, never spliced.
COLUMN_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

ColumnType = Literal[
    "native", "text", "integer", "number", "percent", "dollars", "date", "timestamp", "boolean"
]
CheckKind = Literal[
    "columns_exist",
    "not_null",
    "parses",
    "finite",
    "between",
    "not_in_future",
    "in_set",
    "unique",
    "matches",
    "row_count",
    "row_count_change",
]
Severity = Literal["critical", "warn"]

COLUMN_CHECKS = {"not_null", "parses", "finite", "between", "not_in_future", "in_set", "matches"}


class QualityError(ValueError):
    """A suite file is invalid; the message names the file and the key."""


class ColumnReading(Strict):
    """How a column's text is read: its type, the published format, markers of a missing value.

    `native` takes the stored value (text trimmed, blank = missing); typed marts use it.
    """

    type: ColumnType = "native"
    format: str | None = Field(None, description="strptime format of a date or timestamp.")
    missing: list[str] = Field([], description="Published markers of a missing value, e.g. 's'.")


class Rule(Strict):
    """One expectation on a table. Critical rules block everything downstream when they fail."""

    name: str
    check: CheckKind
    severity: Severity
    description: str = ""
    column: str | None = None
    column_matching: str | None = Field(
        None, description="Instead of `column`: a regex naming exactly one stored column."
    )
    columns: list[str] = []
    min: float | None = None
    max: float | None = None
    values: list[str] = []
    pattern: str | None = None
    mostly: float = Field(1.0, ge=0, le=1, description="Share of rows that must pass.")
    grace_days: int = Field(0, ge=0, description="not_in_future: days past today allowed.")
    max_drop_pct: float = Field(50, ge=0, le=100, description="row_count_change: largest drop.")
    max_growth_factor: float | None = Field(None, gt=1, description="row_count_change: growth.")
    against: Literal["previous_load", "published_export"] = "previous_load"

    @model_validator(mode="after")
    def arguments_fit_the_check(self) -> Rule:
        if not RULE_NAME.match(self.name):
            raise ValueError(f"name must match {RULE_NAME.pattern}, got {self.name!r}")
        for name in [self.column, *self.columns]:  # quoted in SQL, still never odd
            if name is not None and not COLUMN_NAME.match(name):
                raise ValueError(f"not a column name: {name!r}")
        if self.check in COLUMN_CHECKS and not (self.column or self.column_matching):
            raise ValueError(f"check {self.check} needs `column` (or `column_matching`)")
        if self.column_matching:
            re.compile(self.column_matching)
        if self.check in {"columns_exist", "unique"} and not self.columns:
            raise ValueError(f"check {self.check} needs `columns`")
        if self.check == "between" and self.min is None and self.max is None:
            raise ValueError("check between needs `min` or `max`")
        if self.check == "in_set" and not self.values:
            raise ValueError("check in_set needs `values`")
        if self.check == "matches" and not self.pattern:
            raise ValueError("check matches needs `pattern`")
        return self

    @property
    def blocking(self) -> bool:
        return self.severity == "critical"

    @property
    def referenced_columns(self) -> list[str]:
        return [c for c in [self.column, *self.columns] if c]


class SuiteFile(Strict):
    description: str = ""
    columns: dict[str, ColumnReading] = {}
    rules: list[Rule] = []


class Suite(Strict):
    """The rules of one table, assembled from its suite files."""

    schema_name: str
    table: str
    columns: dict[str, ColumnReading]
    rules: tuple[Rule, ...]
    files: tuple[str, ...]
    # Raw tables validate the rows of their latest load (see meta.load_log).
    latest_load_only: bool = False

    @property
    def relation(self) -> str:
        return f"{self.schema_name}.{self.table}"

    def reading(self, column: str) -> ColumnReading:
        """The column's reading: by its name, else by a `re:<regex>` key matching it."""
        if column in self.columns:
            return self.columns[column]
        for key, reading in self.columns.items():
            if key.startswith("re:") and re.fullmatch(key[3:], column):
                return reading
        return ColumnReading()

    def resolved(self, stored: list[str]) -> Suite:
        """Rules naming their column by `column_matching` get the stored column it matches.

        No match, or several, leaves a name no table has: the rule then fails as missing.
        """
        rules = []
        for rule in self.rules:
            if rule.column_matching and not rule.column:
                found = [c for c in stored if re.fullmatch(rule.column_matching, c)]
                column = (
                    found[0]
                    if len(found) == 1
                    else f"<{len(found)} columns match {rule.column_matching}>"
                )
                rule = rule.model_copy(update={"column": column})
            rules.append(rule)
        return self.model_copy(update={"rules": tuple(rules)})


def read_suite_file(path: Path) -> SuiteFile:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise QualityError(f"{path}: not valid YAML: {error}") from error
    try:
        suite = SuiteFile.model_validate(document)
    except ValidationError as error:
        raise QualityError(explain(path, error, "quality suite")) from error
    for name in suite.columns:
        if name.startswith("re:"):
            try:
                re.compile(name[3:])
            except re.error as error:
                raise QualityError(f"{path}: columns: {name!r}: {error}") from error
        elif not COLUMN_NAME.match(name):
            raise QualityError(f"{path}: columns: not a column name: {name!r}")
    names = [rule.name for rule in suite.rules]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise QualityError(f"{path}: rules: names used more than once: {repeated}")
    return suite


def assemble(
    schema_name: str, table: str, paths: list[Path], *, latest_load_only: bool = False
) -> Suite:
    """Merge suite files in order: a later rule or column reading replaces one of the same name."""
    columns: dict[str, ColumnReading] = {}
    rules: dict[str, Rule] = {}
    found = [path for path in paths if path.exists()]
    for path in found:
        part = read_suite_file(path)
        columns.update(part.columns)
        rules.update({rule.name: rule for rule in part.rules})
    return Suite(
        schema_name=schema_name,
        table=table,
        columns=columns,
        rules=tuple(rules.values()),
        files=tuple(str(path) for path in found),
        latest_load_only=latest_load_only,
    )


def raw_suite(dataset: Dataset, quality_dir: Path = QUALITY_DIR) -> Suite:
    paths = [quality_dir / "defaults.yml"]
    if dataset.feeds:
        paths.append(quality_dir / "canonical" / f"{dataset.feeds}.yml")
    paths.append(quality_dir / "raw" / f"{dataset.raw_table}.yml")
    suite = assemble("raw", dataset.raw_table, paths, latest_load_only=True)
    return _published_columns_only(suite, dataset, paths) if dataset.feeds else suite


def _published_columns_only(suite: Suite, dataset: Dataset, paths: list[Path]) -> Suite:
    """A canonical suite's rules apply to the canonical columns the dataset publishes: a
    column the catalog sets as a constant or builds by unpivoting is not in the raw table."""
    canonical, *others = [paths[1], paths[0], paths[2]]
    if not canonical.exists():
        return suite
    own = {rule.name for path in others if path.exists() for rule in read_suite_file(path).rules}
    from_canonical = {rule.name for rule in read_suite_file(canonical).rules} - own
    published = set(dataset.columns)
    rules = []
    for rule in suite.rules:
        if rule.name in from_canonical:
            if rule.check == "columns_exist":
                kept = [column for column in rule.columns if column in published]
                if not kept:
                    continue
                rule = rule.model_copy(update={"columns": kept})
            elif any(column not in published for column in rule.referenced_columns):
                continue
        rules.append(rule)
    return suite.model_copy(update={"rules": tuple(rules)})


def mart_suites(quality_dir: Path = QUALITY_DIR) -> list[Suite]:
    return [
        assemble("marts", path.stem, [path])
        for path in sorted((quality_dir / "marts").glob("*.yml"))
    ]
