"""Freshness: flag a dataset not loaded successfully within its cadence's expected window.

Dagster's last-update freshness checks, one multi-check per cadence over the raw assets of
that cadence. A raw asset is materialized only by a successful load (a live load that found
the portal unchanged counts: the data are as fresh as the portal), so "last materialization
older than the window" is exactly "not loaded successfully within the window".

Why Dagster's checks rather than our own checks over `meta.load_log`: they read Dagster's
event log, not the warehouse, so they evaluate (in a tiny run launched by the freshness
sensor) while a load holds DuckDB's single write lock; they show on each asset's page and
are re-evaluated after every load of the asset. `civic status` reports `meta.load_log` too.

Windows (days) default to daily 2, weekly 9, monthly 35, quarterly 100, yearly 400; override
them with `CIVIC_FRESHNESS_DAYS`, e.g. `daily=3,monthly=40`, or `freshness_checks(windows=...)`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cache

from dagster import (
    AssetCheckKey,
    AssetChecksDefinition,
    AssetCheckSeverity,
    DefaultSensorStatus,
    SensorDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from pipelines.schedules import CADENCES, cadence_assets

DEFAULT_WINDOWS = {
    "daily": timedelta(days=2),
    "weekly": timedelta(days=9),
    "monthly": timedelta(days=35),
    "quarterly": timedelta(days=100),
    "yearly": timedelta(days=400),
}
FRESHNESS_CHECK_NAME = "freshness_check"  # the name Dagster gives each asset's check
WINDOWS_ENV = "CIVIC_FRESHNESS_DAYS"


class FreshnessConfigError(ValueError):
    """`CIVIC_FRESHNESS_DAYS` cannot be read; the message says what is wrong."""


def freshness_windows(env: Mapping[str, str] | None = None) -> dict[str, timedelta]:
    """The defaults, overridden by `CIVIC_FRESHNESS_DAYS` (`cadence=days,...`)."""
    windows = dict(DEFAULT_WINDOWS)
    text = (os.environ if env is None else env).get(WINDOWS_ENV, "").strip()
    for item in filter(None, (part.strip() for part in text.split(","))):
        cadence, _, days = item.partition("=")
        cadence = cadence.strip()
        if cadence not in CADENCES:
            raise FreshnessConfigError(
                f"{WINDOWS_ENV}: unknown cadence {cadence!r} in {item!r} "
                f"(known: {', '.join(CADENCES)})"
            )
        try:
            value = float(days)
        except ValueError:
            value = -1.0
        if value <= 0:
            raise FreshnessConfigError(
                f"{WINDOWS_ENV}: {item!r} needs a positive number of days, e.g. daily=3"
            )
        windows[cadence] = timedelta(days=value)
    return windows


def freshness_checks(
    windows: Mapping[str, timedelta] | None = None,
) -> list[AssetChecksDefinition]:
    """One freshness multi-check per cadence (its raw assets), failing with severity WARN.

    Without `windows`, the same check objects on every call (Definitions refuse duplicates)."""
    if windows is None:
        return list(_default_checks())
    return _build_checks({**freshness_windows(), **windows})


@cache
def _default_checks() -> tuple[AssetChecksDefinition, ...]:
    return tuple(_build_checks(freshness_windows()))


def _build_checks(windows: Mapping[str, timedelta]) -> list[AssetChecksDefinition]:
    checks: list[AssetChecksDefinition] = []
    with warnings.catch_warnings():
        # "superseded" by FreshnessPolicy; checks still suit us: see the module docstring.
        warnings.simplefilter("ignore")
        for cadence, (keys, _) in cadence_assets().items():
            checks.extend(
                build_last_update_freshness_checks(
                    assets=keys,
                    lower_bound_delta=windows[cadence],
                    severity=AssetCheckSeverity.WARN,
                )
            )
    return checks


def freshness_check_keys(checks: Sequence[AssetChecksDefinition]) -> list[AssetCheckKey]:
    return sorted(
        (spec.key for definition in checks for spec in definition.check_specs),
        key=lambda key: key.to_user_string(),
    )


def freshness_sensor(
    checks: Sequence[AssetChecksDefinition], minimum_interval_seconds: int = 3600
) -> SensorDefinition:
    """Re-evaluates the checks when one may have become overdue (runs only the checks, which
    read Dagster's event log, never the warehouse). RUNNING by default: it only looks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_sensor_for_freshness_checks(
            freshness_checks=checks,
            minimum_interval_seconds=minimum_interval_seconds,
            name="freshness_checks",
            default_status=DefaultSensorStatus.RUNNING,
        )
