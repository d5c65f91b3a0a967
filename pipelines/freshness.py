"""Freshness: flag a dataset not loaded successfully within its cadence's expected window.

Dagster's last-update freshness checks, one multi-check per cadence over the raw assets of
that cadence. A raw asset is materialized only by a successful load (a live load that found
the portal unchanged counts: the data are as fresh as the portal), so "last materialization
older than the window" is exactly "not loaded successfully within the window".

Why Dagster's checks rather than our own checks over `meta.load_log`: they read Dagster's
event log, not the warehouse, so they evaluate (in a tiny run launched by the freshness
sensor) while a load holds DuckDB's single write lock; they show on each asset's page and
are re-evaluated after every load of the asset. `civic status` reports `meta.load_log` too.

Windows (days) come from the one freshness table, `pipelines.settings.FRESHNESS_DAYS`
(daily 2, weekly 9, monthly 35, quarterly 100, yearly 400), which the catalog's reference rows
and dbt's source freshness read too; override them with `CIVIC_FRESHNESS_DAYS`, e.g.
`daily=3,monthly=40`, or `freshness_checks(windows=...)`.
"""

from __future__ import annotations

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

from pipelines.schedules import cadence_assets
from pipelines.settings import SettingsError, settings

# `CIVIC_FRESHNESS_DAYS` cannot be read (a settings error naming the variable).
FreshnessConfigError = SettingsError


def freshness_windows(env: Mapping[str, str] | None = None) -> dict[str, timedelta]:
    """The freshness table with the `CIVIC_FRESHNESS_DAYS` overrides, as time deltas."""
    days = settings(env).stale_after_days
    return {cadence: timedelta(days=value) for cadence, value in days.items()}


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
