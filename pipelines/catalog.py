"""City catalogs: which datasets a city publishes, where, and how they map to canonical tables.

A catalog is data (`sources/cities/<city>.yml`), validated here so a typo fails with the file
and key named instead of surfacing later as a missing table. Adding a city is adding a catalog.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from pipelines.canonical import CanonicalError, canonical_tables
from pipelines.catalog_mapping import (
    AreaList,
    Census,
    Constant,
    Coverage,
    RowFilter,
    SpendingKind,
    Unpivot,
    check_city,
    check_dataset,
    safe_text,
)
from pipelines.config_base import HttpUrlText, Strict, explain
from pipelines.redaction import check_token_env
from pipelines.settings import SOURCES_DIR, stale_after_days

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Published column names are matched against the source's header and always quoted in SQL;
# still, no real header has quotes, semicolons, backslashes, control characters or SQL
# comment markers, so a name with them is refused as an injection attempt or a typo.
PUBLISHED_NAME = re.compile(r'^[^\x00-\x1f\x7f";`\\]{1,128}$')
SQL_COMMENT = ("--", "/*", "*/")
# Portal options: keys are identifiers; these name a field of the portal's data.
FIELD_OPTIONS = {"date_field", "watermark_column", "watermark_field"}
FIELD_NAME = re.compile(r"^:?@?[A-Za-z_][A-Za-z0-9_.]{0,127}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
FILTER_OPTIONS = {"where"}


def check_published_name(name: str) -> str:
    if not PUBLISHED_NAME.match(name) or any(marker in name for marker in SQL_COMMENT):
        raise ValueError(
            f"not a published column name: {name!r} (no quotes, ;, `, \\, control characters "
            "or SQL comments)"
        )
    return name


def check_portal_filter(key: str, value: str) -> str:
    """A filter the portal applies (SoQL/ArcGIS `where`): one expression, nothing more."""
    problem = None
    if ";" in value or any(marker in value for marker in SQL_COMMENT):
        problem = "no ;, -- or /* */"
    elif re.search(r"[\x00-\x1f\x7f]", value):
        problem = "no control characters"
    elif value.count("'") % 2 or value.count('"') % 2:
        problem = "quotes must be closed"
    else:
        depth = 0
        for char in re.sub(r"'[^']*'", "", value):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                break
        if depth:
            problem = "parentheses must balance"
    if problem:
        raise ValueError(f"options.{key}: not a single filter expression ({problem}): {value!r}")
    return value


CITIES_SUBDIR = "cities"
__all__ = ["canonical_tables", "city_catalog", "city_catalogs", "load_catalog", "stale_after_days"]
Domain = Literal["crime", "education", "development", "spending", "population", "geography"]
Cadence = Literal["daily", "weekly", "monthly", "quarterly", "yearly", "static"]
PortalKind = Literal["socrata", "ckan", "arcgis", "http", "file"]


class CatalogError(ValueError):
    """A city catalog is missing or invalid; the message names the file and key."""


# Per-source network limits (pipelines.connectors.limits), in MB.
LIMIT_OPTIONS = ("max_body_mb", "max_decompressed_mb")


class Portal(Strict):
    """Where the live dataset is published (read by the network connectors with `--live`).

    `options` carries the connector's own settings (e.g. `date_column`, `token_env`,
    `resource_id`, `layer`, `format`); `pipelines.connectors.connector_for` checks them.
    """

    kind: PortalKind
    base_url: HttpUrlText
    dataset_id: str | None = None
    options: dict[str, str | int | float | bool] = {}

    @field_validator("options")
    @classmethod
    def options_are_safe(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        for key, option in value.items():
            if not IDENTIFIER.match(key):
                raise ValueError(f"option names must be identifiers, got {key!r}")
            if key in LIMIT_OPTIONS and (
                isinstance(option, bool) or not isinstance(option, int | float) or option <= 0
            ):
                raise ValueError(f"options.{key}: a positive number of MB, got {option!r}")
            if not isinstance(option, str):
                continue
            if key in FIELD_OPTIONS and not FIELD_NAME.match(option):
                raise ValueError(f"options.{key}: not a field name: {option!r}")
            if key == "token_env" and not ENV_NAME.match(option):
                raise ValueError(f"options.token_env: not an environment variable: {option!r}")
            if key == "token_env":
                check_token_env(option)  # portal tokens only, never the notifier's secrets
            if key in FILTER_OPTIONS:
                check_portal_filter(key, option)
            elif re.search(r"[\x00-\x1f\x7f]", option):
                raise ValueError(f"options.{key}: control characters in {option!r}")
        return value

    @field_validator("dataset_id")
    @classmethod
    def is_portal_id(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$", value):
            raise ValueError(
                f"must be a portal dataset id (letters, digits, - _ . :), got {value!r}"
            )
        return value


class BundledFile(Strict):
    """The copy of the dataset shipped in `sources/` for offline runs."""

    path: str = Field(description="Path or glob relative to sources/.")
    format: Literal["csv", "parquet", "json"]
    delimiter: Literal[",", "\t", ";", "|"] = ","
    skip_rows: int = Field(0, ge=0, le=100, description="Description lines above the header.")

    @field_validator("path")
    @classmethod
    def stays_inside_sources(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError(f"must be a relative path inside sources/, got {value!r}")
        return value


class MonthlyPartitioning(Strict):
    """Rows are dated: the raw table is loaded month by month on this published column."""

    column: str
    format: str = Field(description="strptime format of the column, e.g. '%m/%d/%Y'.")
    start: str = Field(description="First month, YYYY-MM.")

    @field_validator("column")
    @classmethod
    def is_published_name(cls, value: str) -> str:
        return check_published_name(value)

    @field_validator("start")
    @classmethod
    def is_month(cls, value: str) -> str:
        if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", value):
            raise ValueError(f"must be a month as YYYY-MM, got {value!r}")
        return value

    @property
    def start_date(self) -> date:
        year, month = map(int, self.start.split("-"))
        return date(year, month, 1)


class NumberFormat(Strict):
    """How a column writes numbers, so the loader parses them deliberately (never guessed
    when stated): `7028929,00` is refused under the default point decimal, not read as
    702892900. Values that do not match are quarantined with their row."""

    decimal: Literal[".", ","] = "."
    thousands: Literal[",", ".", " ", "'", ""] = ","
    parentheses: bool = Field(False, description="(12.50) is -12.50, as accountants write it.")
    currency: str = Field("", max_length=3, description="A currency sign, e.g. '$' or '€'.")

    @model_validator(mode="after")
    def separators_differ(self) -> NumberFormat:
        if self.decimal == self.thousands:
            raise ValueError("decimal and thousands separators must differ")
        if re.search(r"[0-9.,\s()+\-]", self.currency):
            raise ValueError(f"currency must be a sign such as '$', got {self.currency!r}")
        return self


class Dataset(Strict):
    raw_table: str
    domain: Domain
    title: str
    description: str
    portal: Portal
    bundled: BundledFile | None = None
    license: str
    provenance: str
    cadence: Cadence = "static"
    feeds: str | None = Field(None, description="Canonical raw table (sources/canonical.yml).")
    columns: dict[str, str] = Field({}, description="Canonical column name -> published name.")
    partitioning: MonthlyPartitioning | None = None
    numbers: dict[str, NumberFormat] = Field(
        {}, description="Published column name -> its number format (else detected)."
    )
    # How the mapped columns become typed canonical rows (pipelines/catalog_mapping.py).
    area_type: str | None = Field(None, description="Kind of area in `area` (area_types.yml).")
    area_pattern: str | None = Field(None, description="Regex: its group is the area id.")
    formats: dict[str, str] = Field({}, description="strptime format per dated column.")
    units: dict[str, str] = Field({}, description="Unit per column: fraction, thousands...")
    constants: dict[str, Constant] = Field({}, description="Values the file implies.")
    null_markers: list[str] = Field([], description="Published markers of a missing value.")
    recode: dict[str, dict[str, str]] = Field({}, description="Published value -> value.")
    filters: list[RowFilter] = Field([], description="Rows in scope (all must hold).")
    unpivot: Unpivot | None = None
    offenses: str | None = Field(None, description="Offence classification, under sources/.")
    indicators: list[str] | None = Field(None, description="Only these indicators from it.")
    spending_kind: SpendingKind | None = None
    estimate_preference: list[str] = Field([], description="Population estimate types, best first.")
    coverage: Coverage | None = None

    @field_validator("null_markers")
    @classmethod
    def markers_are_safe(cls, value: list[str]) -> list[str]:
        return [safe_text(marker, "null marker") for marker in value]

    @field_validator("recode")
    @classmethod
    def recodes_are_safe(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for column, mapping in value.items():
            for old, new in mapping.items():
                safe_text(old, f"{column}: value")
                safe_text(new, f"{column}: value")
        return value

    @field_validator("area_pattern")
    @classmethod
    def pattern_has_one_group(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                groups = re.compile(value).groups
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
            if groups != 1:
                raise ValueError(f"the regex must have exactly one group: {value!r}")
            safe_text(value, "area_pattern")
        return value

    @field_validator("constants")
    @classmethod
    def constants_are_safe(cls, value: dict[str, Constant]) -> dict[str, Constant]:
        for name, constant in value.items():
            if isinstance(constant, str):
                safe_text(constant, f"constants.{name}")
        return value

    @field_validator("offenses")
    @classmethod
    def offenses_stay_inside_sources(cls, value: str | None) -> str | None:
        if value is not None and (Path(value).is_absolute() or ".." in Path(value).parts):
            raise ValueError(f"must be a relative path inside sources/, got {value!r}")
        return value

    @field_validator("raw_table")
    @classmethod
    def is_identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"must match {IDENTIFIER.pattern} (lower-case SQL identifier)")
        return value

    @field_validator("columns")
    @classmethod
    def canonical_names_are_identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not IDENTIFIER.match(name)]
        if bad:
            raise ValueError(f"canonical column names must be identifiers: {bad}")
        for canonical, published in value.items():
            try:
                check_published_name(published)
            except ValueError as error:
                raise ValueError(f"{canonical}: {error}") from None
        return value

    @field_validator("numbers")
    @classmethod
    def number_columns_are_published_names(
        cls, value: dict[str, NumberFormat]
    ) -> dict[str, NumberFormat]:
        for name in value:
            check_published_name(name)
        return value

    @model_validator(mode="after")
    def columns_need_feeds(self) -> Dataset:
        mapping_keys = [
            "columns", "constants", "formats", "units", "unpivot", "offenses", "area_type",
            "spending_kind", "filters", "recode",
        ]  # fmt: skip
        if not self.feeds and any(getattr(self, key) for key in mapping_keys):
            used = [key for key in mapping_keys if getattr(self, key)]
            raise ValueError(f"`{used[0]}` maps onto a canonical table: set `feeds` too")
        return self


class CityCatalog(Strict):
    city: str
    name: str
    datasets: dict[str, Dataset]
    aliases: list[str] = Field([], description="Other spellings of the city in published files.")
    timezone: str | None = Field(None, description="IANA zone for timestamps given in UTC.")
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    census: Census = Census()
    city_population: str | None = Field(
        None,
        description="census_place | census_counties | areas:<area type>; default: the Census "
        "place, else the counties, named in `census` (none: no per-resident city rates)",
    )
    areas: dict[str, AreaList] = {}

    @property
    def population_choice(self) -> str | None:
        """Where the city's own population comes from (Census when the catalog says nothing)."""
        if self.city_population:
            return self.city_population
        if self.census.place:
            return "census_place"
        return "census_counties" if self.census.counties else None

    @field_validator("aliases")
    @classmethod
    def aliases_are_safe(cls, value: list[str]) -> list[str]:
        return [safe_text(alias, "alias") for alias in value]

    @field_validator("timezone")
    @classmethod
    def is_timezone(cls, value: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"not an IANA time zone: {value!r}") from None
        return value

    @field_validator("city")
    @classmethod
    def city_is_identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"must match {IDENTIFIER.pattern}")
        return value


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError as error:
        raise CatalogError(f"{path}: catalog file not found") from error
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML: {error}") from error


def _explain(path: Path, error: ValidationError) -> CatalogError:
    return CatalogError(explain(path, error, "catalog"))


def check_canonical_mapping(path: Path, catalog: CityCatalog, sources_dir: Path) -> None:
    """The mapping of every dataset onto its canonical table, and the city-level keys."""
    from pipelines.offenses import OffenseRulesError, offense_rules
    from pipelines.problems import catalog_indicators

    known_indicators = catalog_indicators()
    try:
        canonical_tables(sources_dir)
        for name, dataset in catalog.datasets.items():
            if dataset.feeds:
                check_dataset(f"{path}: datasets.{name}", dataset, known_indicators, sources_dir)
            if dataset.offenses:
                offense_rules(dataset.offenses, sources_dir)
        check_city(path, catalog, sources_dir)
    except (ValueError, CanonicalError, OffenseRulesError) as error:
        if isinstance(error, CatalogError):
            raise
        message = str(error)
        if isinstance(error, CanonicalError | OffenseRulesError):  # they name their own file
            raise CatalogError(f"{path}: {message}") from error
        raise CatalogError(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from error


def load_catalog(path: Path, sources_dir: Path = SOURCES_DIR) -> CityCatalog:
    """Read and validate one catalog file (and its mapping onto canonical tables)."""
    document = _read_yaml(path)
    try:
        catalog = CityCatalog.model_validate(document)
    except ValidationError as error:
        raise _explain(path, error) from error
    if catalog.city != path.stem:
        raise CatalogError(f"{path}: city: must match the file name ({path.stem!r})")
    check_canonical_mapping(path, catalog, sources_dir)
    tables = [dataset.raw_table for dataset in catalog.datasets.values()]
    repeated = sorted({table for table in tables if tables.count(table) > 1})
    if repeated:
        raise CatalogError(f"{path}: datasets: raw_table used more than once: {repeated}")
    return catalog


@cache
def city_catalogs(sources_dir: Path = SOURCES_DIR) -> tuple[CityCatalog, ...]:
    """All city catalogs, one `sources/cities/<city>.yml` each."""
    paths = sorted((sources_dir / CITIES_SUBDIR).glob("*.yml"))
    return tuple(load_catalog(path, sources_dir) for path in paths)


def city_catalog(city: str, sources_dir: Path = SOURCES_DIR) -> CityCatalog:
    for catalog in city_catalogs(sources_dir):
        if catalog.city == city:
            return catalog
    known = ", ".join(c.city for c in city_catalogs(sources_dir))
    raise CatalogError(f"no catalog for city {city!r} in {sources_dir} (known: {known})")
