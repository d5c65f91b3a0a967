"""Publishing settings (`sources/publishing.yml`): publisher, contact, URLs, published tables.

Every key has a default, so a missing file still publishes; the defaults name placeholder
contacts and URLs that an open-data team replaces before releases go public.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError, field_validator

from pipelines.config_base import EmailText, HttpUrlText, Strict, explain
from pipelines.settings import SOURCES_DIR

CONFIG_FILE = SOURCES_DIR / "publishing.yml"
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class PublishingConfigError(ValueError):
    """sources/publishing.yml is invalid; the message names the file and key."""


class Contact(Strict):
    name: str = "Civic indicators open-data team"
    email: EmailText = "opendata@example.org"


class PublishedTable(Strict):
    name: str
    title: str | None = None
    keywords: list[str] = []

    @field_validator("name")
    @classmethod
    def is_table_name(cls, value: str) -> str:
        if not TABLE_NAME.match(value):
            raise ValueError(f"must be a lowercase table name, got {value!r}")
        return value

    @property
    def display_title(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()


DEFAULT_TABLES = [
    PublishedTable(name="fct_indicator_values", title="Indicator values"),
    PublishedTable(name="fct_indicator_gaps", title="Indicator gaps"),
    PublishedTable(name="fct_early_warnings", title="Early warnings"),
    PublishedTable(name="fct_problem_scores", title="Problem scores"),
    PublishedTable(name="fct_intervention_effects", title="Local intervention effects"),
    PublishedTable(name="fct_innovation_portfolio", title="Innovation ledger"),
    PublishedTable(name="fct_intervention_spending", title="Local intervention spending"),
    PublishedTable(name="dim_indicators", title="Indicator catalog"),
]


class PublishingConfig(Strict):
    title: str = "Civic indicators"
    description: str = "Indicators computed from open city data by the civic indicators warehouse."
    publisher: str = "Civic indicators open-data team"
    contact: Contact = Contact()
    base_url: HttpUrlText = "https://data.example.org/civic-indicators/releases"
    access_level: Literal["public", "restricted public", "non-public"] = "public"
    license: str | None = None
    keywords: list[str] = ["civic indicators", "open data"]
    language: str = "en-us"
    tables: list[PublishedTable] = DEFAULT_TABLES

    @field_validator("base_url")
    @classmethod
    def without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


def load_config(path: Path = CONFIG_FILE) -> PublishingConfig:
    """The publishing settings; defaults when the file does not exist."""
    if not path.exists():
        return PublishingConfig()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        return PublishingConfig.model_validate(data)
    except yaml.YAMLError as error:
        raise PublishingConfigError(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        raise PublishingConfigError(explain(path, error, "publishing settings")) from error
