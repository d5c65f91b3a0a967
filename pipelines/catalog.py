"""City catalogs: which datasets a city publishes and where the bundled copies are.

A catalog is data (`sources/<city>.yml`), validated here so a typo fails with the file and key
named instead of surfacing later as a missing table.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.settings import SOURCES_DIR

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
Domain = Literal["crime", "education", "development", "spending", "population", "geography"]


class CatalogError(ValueError):
    """A city catalog is missing or invalid; the message names the file and key."""


class Portal(BaseModel):
    """Where the live dataset is published (used by the network connectors)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["socrata", "ckan", "arcgis", "http", "file"]
    base_url: str
    dataset_id: str | None = None


class BundledFile(BaseModel):
    """The copy of the dataset shipped in `sources/` for offline demo runs."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="Path or glob relative to sources/.")
    format: Literal["csv", "parquet", "json"]

    @field_validator("path")
    @classmethod
    def stays_inside_sources(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError(f"must be a relative path inside sources/, got {value!r}")
        return value


class Dataset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw_table: str
    domain: Domain
    title: str
    description: str
    portal: Portal
    bundled: BundledFile
    license: str
    provenance: str

    @field_validator("raw_table")
    @classmethod
    def is_identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"must match {IDENTIFIER.pattern} (lower-case SQL identifier)")
        return value


class CityCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str
    name: str
    datasets: dict[str, Dataset]

    @field_validator("city")
    @classmethod
    def city_is_identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"must match {IDENTIFIER.pattern}")
        return value


def load_catalog(path: Path) -> CityCatalog:
    """Read and validate one catalog file."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError as error:
        raise CatalogError(f"{path}: catalog file not found") from error
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML: {error}") from error
    try:
        return CityCatalog.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
            for issue in error.errors()
        )
        raise CatalogError(f"{path}: invalid catalog: {problems}") from error


@cache
def city_catalogs(sources_dir: Path = SOURCES_DIR) -> tuple[CityCatalog, ...]:
    """All city catalogs in `sources/`, one `<city>.yml` each."""
    return tuple(load_catalog(path) for path in sorted(sources_dir.glob("*.yml")))
