"""What a city's data can be mapped onto: canonical tables, area types, offence categories.

All three are data in `sources/` (`canonical.yml`, `area_types.yml`,
`offenses/categories.yml`), read and validated here, so that a catalog naming an unknown
table, column, area type or category fails with the file and key named.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from pipelines.config_base import FrozenStrict as Strict
from pipelines.config_base import explain
from pipelines.settings import SOURCES_DIR

CANONICAL_FILE = "canonical.yml"
AREA_TYPES_FILE = "area_types.yml"
CATEGORIES_FILE = "offenses/categories.yml"

# How staging reads a canonical column's text (dbt macro `canonical_value`).
ColumnType = Literal[
    "text", "area", "timestamp", "date", "time", "year", "integer", "number", "percent",
    "amount", "boolean",
]  # fmt: skip
# Units a dataset may declare for a column (`units:` in the catalog), by column type.
UNITS: dict[str, set[str]] = {
    "percent": {"percent", "fraction"},
    "amount": {"dollars", "thousands", "millions"},
}
DATED_TYPES = {"timestamp", "date", "time"}
Model = TypeVar("Model", bound=BaseModel)


class CanonicalError(ValueError):
    """A file of sources/ describing canonical tables is invalid; names the file and key."""


class CanonicalColumn(Strict):
    type: ColumnType
    description: str = ""
    synonyms: list[str] = []


class CanonicalTable(Strict):
    description: str
    required: list[str]
    one_of: list[list[str]] = Field([], description="Alternative column sets, one complete.")
    columns: dict[str, CanonicalColumn]
    indicators: list[str] = Field([], description="Indicators computed from this table.")

    @model_validator(mode="after")
    def named_columns_exist(self) -> CanonicalTable:
        named = set(self.required) | {c for group in self.one_of for c in group}
        unknown = sorted(named - set(self.columns))
        if unknown:
            raise ValueError(f"required / one_of name columns not in `columns`: {unknown}")
        return self

    def missing(self, provided: set[str]) -> list[str]:
        """What `provided` (mapped or constant columns) lacks to feed this table."""
        missing = [name for name in self.required if name not in provided]
        if self.one_of and not any(set(group) <= provided for group in self.one_of):
            missing.append(" or ".join("+".join(group) for group in self.one_of))
        return missing


class AreaType(Strict):
    label: str
    ids: Literal["integer", "text"]
    description: str = ""


class OffenseCategory(Strict):
    indicator: str
    description: str = ""
    ucr_offenses: list[str] = []


def _read(path: Path) -> dict:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError as error:
        raise CanonicalError(f"{path}: file not found") from error
    except yaml.YAMLError as error:
        raise CanonicalError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise CanonicalError(f"{path}: expected a mapping of names to definitions")
    return document


def _validated(path: Path, model: type[Model]) -> dict[str, Model]:
    document = _read(path)
    try:
        return {name: model.model_validate(spec) for name, spec in document.items()}
    except ValidationError as error:
        raise CanonicalError(explain(path, error, "definitions")) from error


@cache
def canonical_tables(sources_dir: Path = SOURCES_DIR) -> dict[str, CanonicalTable]:
    return _validated(sources_dir / CANONICAL_FILE, CanonicalTable)


@cache
def area_types(sources_dir: Path = SOURCES_DIR) -> dict[str, AreaType]:
    return _validated(sources_dir / AREA_TYPES_FILE, AreaType)


@cache
def offense_categories(sources_dir: Path = SOURCES_DIR) -> dict[str, OffenseCategory]:
    return _validated(sources_dir / CATEGORIES_FILE, OffenseCategory)


def ucr_offenses(sources_dir: Path = SOURCES_DIR) -> dict[str, str]:
    """FBI UCR Part I offence -> its category."""
    return {
        offense: name
        for name, category in offense_categories(sources_dir).items()
        for offense in category.ucr_offenses
    }
