"""The parts of a city catalog that say how its data become canonical, typed rows.

A dataset maps published columns onto a canonical table (`feeds`, `columns`) and says, as
data, what the code would otherwise need a city branch for: the kind of area its `area`
column holds, date formats and units, values the file implies but does not hold
(`constants`), null markers, value fixes (`recode`), rows out of scope (`filters`), wide
tables to long (`unpivot`), the offence classification. A city says where its population
comes from, its areas and their names, its fiscal year. `check_mapping` checks them against
`sources/canonical.yml`, `sources/area_types.yml` and the indicator catalog.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from pipelines.canonical import DATED_TYPES, UNITS, area_types, canonical_tables
from pipelines.config_base import Strict
from pipelines.settings import SOURCES_DIR

if TYPE_CHECKING:
    from pipelines.catalog import CityCatalog, Dataset

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Published values and names that end up in SQL string literals (quotes doubled there):
# still, no control characters or SQL comment markers.
SAFE_TEXT = re.compile(r"^[^\x00-\x1f\x7f]{0,256}$")
Constant = str | int | float | bool
# Dates published as numbers (ArcGIS: milliseconds since 1970, UTC).
EPOCH_FORMATS = {"epoch_ms", "epoch_s"}


def safe_text(value: str, what: str = "value") -> str:
    if not SAFE_TEXT.match(value) or "--" in value or "/*" in value:
        raise ValueError(f"{what}: no control characters or SQL comments: {value!r}")
    return value


class RowFilter(Strict):
    """Rows to keep (a file covering more than the city's scope). Exactly one condition.

    `column` is a published column name (or a canonical one the loader renamed).
    """

    column: str
    equals: str | None = None
    not_equals: str | None = None
    like: str | None = None
    not_like: str | None = None
    one_of: list[str] | None = None

    @model_validator(mode="after")
    def one_condition(self) -> RowFilter:
        conditions = [self.equals, self.not_equals, self.like, self.not_like, self.one_of]
        if sum(c is not None for c in conditions) != 1:
            raise ValueError("give exactly one of equals, not_equals, like, not_like, one_of")
        for value in [self.column, *[c for c in conditions if isinstance(c, str)]]:
            safe_text(value)
        for value in self.one_of or []:
            safe_text(value)
        return self


class UnpivotGroup(Strict):
    """One long row per raw row from these published columns, with these constants."""

    columns: dict[str, str] = Field(description="Canonical column -> published column.")
    constants: dict[str, Constant] = {}


class UnpivotPattern(Strict):
    """One long row per raw column whose (snake_case) name matches `columns`; the regex's
    first group goes into `key`, the column's value into `value`."""

    columns: str = Field(description="Regex over raw (snake_case) column names, one group.")
    key: str
    value: str

    @field_validator("columns")
    @classmethod
    def one_group(cls, value: str) -> str:
        if re.compile(value).groups != 1:
            raise ValueError(f"the regex must have exactly one group: {value!r}")
        return safe_text(value, "columns")


class Unpivot(Strict):
    groups: list[UnpivotGroup] = []
    pattern: UnpivotPattern | None = None

    @model_validator(mode="after")
    def one_form(self) -> Unpivot:
        if bool(self.groups) == (self.pattern is not None):
            raise ValueError("give either `groups` or `pattern`")
        keys = {frozenset(g.columns) | frozenset(g.constants) for g in self.groups}
        if len(keys) > 1:
            raise ValueError("every unpivot group must set the same canonical columns")
        return self

    def canonical_columns(self) -> set[str]:
        if self.pattern:
            return {self.pattern.key, self.pattern.value}
        return set(self.groups[0].columns) | set(self.groups[0].constants)


class Coverage(Strict):
    """The period a dataset covers completely, when its dates alone cannot tell (sparse data)."""

    first: date
    last: date


class Area(Strict):
    id: str
    name: str
    spellings: list[str] = Field([], description="Other published values meaning this area.")

    @field_validator("id", "name")
    @classmethod
    def is_safe(cls, value: str) -> str:
        return safe_text(value)


class AreaList(Strict):
    """A city's areas of one type: listed, numbered with a name pattern, or from a dataset."""

    items: list[Area] = []
    ids: list[str] = []
    name: str | None = Field(None, description="With `ids`: a pattern such as 'Ward {id}'.")
    dataset: str | None = Field(None, description="A dataset of the catalog listing the areas.")
    id_column: str | None = None
    name_column: str | None = None

    @model_validator(mode="after")
    def one_form(self) -> AreaList:
        forms = [bool(self.items), bool(self.ids), self.dataset is not None]
        if sum(forms) != 1:
            raise ValueError("give one of `items`, `ids` (with `name`) or `dataset`")
        if self.ids and (not self.name or "{id}" not in self.name):
            raise ValueError("`ids` needs a `name` pattern containing {id}")
        if self.dataset and not (self.id_column and self.name_column):
            raise ValueError("`dataset` needs `id_column` and `name_column`")
        return self

    def listed(self) -> list[Area]:
        if self.items:
            return self.items
        return [Area(id=i, name=self.name.format(id=i)) for i in self.ids] if self.ids else []


class Census(Strict):
    place: str | None = Field(None, description="Census place GEOID (state + place, 7 digits).")
    counties: list[str] = Field([], description="County FIPS codes (5 digits).")

    @field_validator("place")
    @classmethod
    def is_place(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^\d{7}$", value):
            raise ValueError(f"a place GEOID has 7 digits (state + place), got {value!r}")
        return value

    @field_validator("counties")
    @classmethod
    def are_counties(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(r"^\d{5}$", v)]
        if bad:
            raise ValueError(f"county FIPS codes have 5 digits, got {bad}")
        return value


SpendingKind = Literal["appropriations", "expenditures"]


def provided_columns(dataset: Dataset) -> set[str]:
    """Canonical columns the dataset gives: mapped, constant or produced by its unpivot."""
    provided = set(dataset.columns) | set(dataset.constants)
    if dataset.unpivot:
        provided |= dataset.unpivot.canonical_columns()
    return provided


def check_dataset(
    where: str,
    dataset: Dataset,
    known_indicators: frozenset[str] | None,
    sources_dir: Path = SOURCES_DIR,
) -> None:
    tables = canonical_tables(sources_dir)
    table = tables.get(dataset.feeds)
    if table is None:
        raise ValueError(
            f"{where}.feeds: unknown canonical table {dataset.feeds!r} "
            f"(known: {', '.join(sorted(tables))})"
        )
    known = set(table.columns)
    for key, names in [
        ("columns", set(dataset.columns)),
        ("constants", set(dataset.constants)),
        ("formats", set(dataset.formats)),
        ("units", set(dataset.units)),
        ("unpivot", dataset.unpivot.canonical_columns() if dataset.unpivot else set()),
    ]:
        unknown = sorted(names - known)
        if unknown:
            raise ValueError(f"{where}.{key}: not columns of {dataset.feeds}: {unknown}")
    published = list(dataset.columns.values())
    if dataset.unpivot:
        published += [p for group in dataset.unpivot.groups for p in group.columns.values()]
    shared = sorted({p for p in published if published.count(p) > 1})
    if shared:
        raise ValueError(
            f"{where}.columns: one published column mapped to several canonical columns: "
            f"{shared} (a canonical column reads one published column; use `constants` for "
            "a value the file implies)"
        )
    twice = sorted(set(dataset.columns) & set(dataset.constants))
    if twice:
        raise ValueError(f"{where}.constants: also mapped in `columns`: {twice}")
    missing = table.missing(provided_columns(dataset))
    if missing:
        raise ValueError(f"{where}.columns: {dataset.feeds} requires {missing}")
    for column, fmt in dataset.formats.items():
        kind = table.columns[column].type
        if kind not in DATED_TYPES:
            raise ValueError(f"{where}.formats.{column}: a {kind} column has no date format")
        if "%" not in fmt and fmt not in EPOCH_FORMATS:
            raise ValueError(
                f"{where}.formats.{column}: not a strptime format (or epoch_ms, epoch_s): {fmt!r}"
            )
    for column, unit in dataset.units.items():
        allowed = UNITS.get(table.columns[column].type, set())
        if unit not in allowed:
            raise ValueError(
                f"{where}.units.{column}: {unit!r} is not a unit of a "
                f"{table.columns[column].type} column (known: {sorted(allowed) or 'none'})"
            )
    if "area" in provided_columns(dataset) and dataset.area_type is None:
        raise ValueError(f"{where}.area_type: say which kind of area `area` holds")
    known_types = area_types(sources_dir) if dataset.area_type is not None else {}
    if dataset.area_type is not None and dataset.area_type not in known_types:
        raise ValueError(
            f"{where}.area_type: unknown area type {dataset.area_type!r} "
            f"(known: {', '.join(known_types)}; sources/area_types.yml)"
        )
    if (dataset.feeds == "crime_incidents") != (dataset.offenses is not None):
        raise ValueError(
            f"{where}.offenses: a crime_incidents dataset names its offence classification "
            "(sources/offenses/<city>.csv), and only it"
        )
    if (dataset.feeds == "spending") != (dataset.spending_kind is not None):
        raise ValueError(
            f"{where}.spending_kind: a spending dataset says what it holds "
            "(appropriations | expenditures), and only it"
        )
    producible = set(table.indicators)
    if dataset.spending_kind:
        producible = {i for i in producible if i.startswith(dataset.spending_kind)}
    for indicator in dataset.indicators or []:
        if known_indicators is not None and indicator not in known_indicators:
            raise ValueError(f"{where}.indicators: not in the indicator catalog: {indicator!r}")
        if indicator not in producible:
            raise ValueError(
                f"{where}.indicators: {dataset.feeds} cannot produce {indicator!r} "
                f"(it produces: {', '.join(sorted(producible))})"
            )


def check_city(path: Path, catalog: CityCatalog, sources_dir: Path = SOURCES_DIR) -> None:
    """City-level keys: areas and the city's population."""
    known = area_types(sources_dir) if catalog.areas else {}
    for area_type, spec in catalog.areas.items():
        if area_type not in known or area_type == "city":
            raise ValueError(
                f"{path}: areas.{area_type}: not an area type a city lists "
                f"(known: {', '.join(t for t in known if t != 'city')})"
            )
        if spec.dataset and spec.dataset not in catalog.datasets:
            raise ValueError(f"{path}: areas.{area_type}.dataset: no dataset {spec.dataset!r}")
        ids = [area.id for area in spec.listed()]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"{path}: areas.{area_type}: area ids listed twice: {repeated}")
    choice = catalog.city_population
    if choice is None:
        return
    if choice.startswith("areas:"):
        area_type = choice.removeprefix("areas:")
        fed = {d.area_type for d in catalog.datasets.values() if d.feeds == "population"}
        if area_type not in fed:
            raise ValueError(
                f"{path}: city_population: {choice!r} sums the {area_type} populations, but no "
                f"population dataset has area_type {area_type}"
            )
    elif choice == "census_place" and not catalog.census.place:
        raise ValueError(f"{path}: city_population: census_place needs census.place")
    elif choice == "census_counties" and not catalog.census.counties:
        raise ValueError(f"{path}: city_population: census_counties needs census.counties")
    elif choice not in ("census_place", "census_counties") and not choice.startswith("areas:"):
        raise ValueError(
            f"{path}: city_population: one of census_place, census_counties, areas:<area type>"
        )
