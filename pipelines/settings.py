"""Where things live and every `CIVIC_*` environment variable, read and validated in one place.

`CIVIC_HOME` moves everything a run writes (warehouse, exports, Dagster's run storage) to another
folder, which is how the tests run the whole pipeline in a temporary directory. The variables
are read through one pydantic-settings object (`settings()`), fresh on every call so a test or
a command can redirect them; a bad value is one `SettingsError` line naming the variable.

Not here, on purpose: portal tokens, whose variable a catalog names (`options.token_env`,
read by `pipelines.connectors.http.secret_from_env`), and the secret scan of
`pipelines.redaction`, which looks at every variable's name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCES_DIR = PROJECT_ROOT / "sources"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# civic runs keep their own dbt target folder: a hand-run `dbt build` or `dbt docs generate`
# (which write dbt_project/target/) never leaves a manifest or parse cache the runs would reuse.
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target" / "civic"
DASHBOARDS_DIR = PROJECT_ROOT / "dashboards"
ENV_PREFIX = "CIVIC_"

# The one freshness table: how many days after its last good load a dataset of each cadence
# counts as stale (static datasets never do). The catalog's reference rows (the data-health
# mart), Dagster's freshness checks and dbt's source freshness all read `stale_after_days`,
# so `CIVIC_FRESHNESS_DAYS` (e.g. `daily=3,monthly=40`) changes every one of them.
FRESHNESS_DAYS: dict[str, int] = {
    "daily": 2,
    "weekly": 9,
    "monthly": 35,
    "quarterly": 100,
    "yearly": 400,
}


DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"


class SettingsError(ValueError):
    """A `CIVIC_*` environment variable has a value that cannot be used; names the variable."""


def _parse_freshness(text: object) -> dict[str, int]:
    """`daily=3, monthly=40` -> {"daily": 3, "monthly": 40} (whole, positive days)."""
    if isinstance(text, Mapping):
        return dict(text)
    windows: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in str(text or "").split(","))):
        cadence, _, days = item.partition("=")
        cadence = cadence.strip()
        if cadence not in FRESHNESS_DAYS:
            raise ValueError(
                f"unknown cadence {cadence!r} in {item!r} (known: {', '.join(FRESHNESS_DAYS)})"
            )
        if not days.strip().isdigit() or int(days) <= 0:
            raise ValueError(
                f"{item!r} needs a positive number of days (a whole number), e.g. daily=3"
            )
        windows[cadence] = int(days)
    return windows


class Settings(BaseSettings):
    """Every `CIVIC_*` variable; a field `x` is the variable `CIVIC_X`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    home: Path = Field(PROJECT_ROOT / "warehouse", description="Everything a run writes.")
    warehouse: Path | None = Field(None, description="The DuckDB file (default: home/).")
    freshness_days: Annotated[dict[str, int], NoDecode] = Field(
        {}, description="Freshness windows overriding FRESHNESS_DAYS, e.g. daily=3,monthly=40."
    )
    timezone: str = Field("UTC", description="IANA zone the schedules run in.")
    dagster_url: str | None = Field(None, description="The Dagster UI, linked from notices.")
    # DuckDB's own default is 80 % of the machine's memory, whatever else runs there; with a
    # bound it spills to a temporary folder beside the warehouse instead. 1 GB keeps a 10 M-row
    # build near its unbounded speed (tests/benchmarks/RESULTS.md). dbt reads it through
    # profiles.yml, whose fallback must stay equal to this default.
    duckdb_memory_limit: str = Field(
        DEFAULT_DUCKDB_MEMORY_LIMIT,
        description="DuckDB's memory limit for the pipeline's and dbt's warehouse connections.",
    )
    # Notification channels: read here, interpreted by pipelines.notifications, which reports
    # an incomplete channel and turns it off instead of failing the run that notifies.
    notify_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = Field(None, repr=False)
    smtp_starttls: str | None = None
    notify_email_from: str | None = None
    notify_email_to: str | None = None

    @field_validator("freshness_days", mode="before")
    @classmethod
    def parse_freshness(cls, value: object) -> dict[str, int]:
        return _parse_freshness(value)

    @field_validator("timezone")
    @classmethod
    def is_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not an IANA time zone: {value!r} (e.g. Europe/Paris)") from None
        return value

    @field_validator("duckdb_memory_limit")
    @classmethod
    def is_memory_size(cls, value: str) -> str:
        try:  # DuckDB's own parser: whatever it accepts in `set memory_limit` is fine
            duckdb.connect(config={"memory_limit": value}).close()
        except duckdb.Error:
            raise ValueError(f"not a memory size: {value!r} (e.g. 1GB, 512MB, 4GiB)") from None
        return value

    @property
    def stale_after_days(self) -> dict[str, int]:
        """The freshness table with this environment's overrides."""
        return {**FRESHNESS_DAYS, **self.freshness_days}


def _error_line(error: ValidationError) -> str:
    issue = error.errors()[0]
    variable = ENV_PREFIX + "_".join(str(part) for part in issue["loc"][:1]).upper()
    message = issue["msg"].removeprefix("Value error, ")
    return f"{variable}: {message}" if issue["loc"] else message


@lru_cache(maxsize=16)
def _process_settings(variables: tuple[tuple[str, str], ...]) -> Settings:
    """pydantic-settings reads the environment (slow-ish); once per set of `CIVIC_*` values."""
    return Settings()


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the process environment, or from `env` (a mapping of variables)."""
    try:
        if env is None:
            prefix = ENV_PREFIX.lower()
            variables = sorted(
                (name, value) for name, value in os.environ.items()
                if name.lower().startswith(prefix)
            )  # fmt: skip
            return _process_settings(tuple(variables))
        values = {
            name[len(ENV_PREFIX) :].lower(): value
            for name, value in env.items()
            if name.upper().startswith(ENV_PREFIX) and value != ""
        }
        return Settings.model_validate(values)
    except ValidationError as error:
        raise SettingsError(_error_line(error)) from None


def stale_after_days(cadence: str, env: Mapping[str, str] | None = None) -> int | None:
    """Days until a dataset of `cadence` is stale; None for a static dataset."""
    return settings(env).stale_after_days.get(cadence)


@dataclass(frozen=True)
class Paths:
    """Everything a run writes, under one home folder."""

    home: Path

    @property
    def warehouse(self) -> Path:
        return settings().warehouse or self.home / "civic.duckdb"

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dbt_builds(self) -> Path:
        """One dbt target folder per build (logs, run_results.json): a run writes nothing
        into the project, so an installed, read-only checkout works."""
        return self.home / "dbt"


def paths() -> Paths:
    """The current run's paths (read from the environment each time, so tests can redirect)."""
    return Paths(home=settings().home.resolve())
