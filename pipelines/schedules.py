"""Schedules: one job per dataset cadence, refreshing those datasets from the live portals.

Each cadence of the city catalogs (daily, weekly, monthly, quarterly, yearly; `static` datasets
are never refreshed) gets a job `refresh_<cadence>` that loads the raw assets of that cadence;
when the load run ends, the `transform_after_load` sensor rebuilds what is downstream of the
tables that changed (dbt models and tests, the Parquet exports), even if some loads failed.
Its schedule reads the live portals and refreshes the previous and current month of dated
datasets. Cron times are staggered so the jobs do not queue behind each other; the time zone
is `CIVIC_TIMEZONE` (an IANA name, default UTC).

Every schedule starts STOPPED: a city team turns on the ones it wants (Dagster UI, Automation).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from pipelines.assets.raw import raw_asset_key
from pipelines.automation import (
    PHASE_TAG,
    RAW_LOAD_RETRY,
    TRIGGER_TAG,
    WAREHOUSE_WRITER_TAGS,
    catalog_datasets,
    live_run_config,
    months_tag,
    recent_months,
)
from pipelines.dagster_internals import UnresolvedAssetJobDefinition
from pipelines.settings import FRESHNESS_DAYS, settings

CADENCES = tuple(FRESHNESS_DAYS)  # daily, weekly, monthly, quarterly, yearly
# Early morning, 30 minutes apart, so a day when several cadences fall does not pile up.
CRON = {
    "daily": "15 5 * * *",  # every day 05:15
    "weekly": "45 5 * * 1",  # Mondays 05:45
    "monthly": "15 6 2 * *",  # the 2nd of the month 06:15 (portals publish month-end late)
    "quarterly": "45 6 3 1,4,7,10 *",  # the 3rd of Jan, Apr, Jul, Oct 06:45
    "yearly": "15 7 4 1 *",  # 4 January 07:15
}


def schedule_timezone() -> str:
    return settings().timezone


def job_name(cadence: str) -> str:
    return f"refresh_{cadence}"


def cadence_assets() -> dict[str, tuple[list[AssetKey], bool]]:
    """cadence -> (raw asset keys, whether any is dated), for cadences the catalogs use."""
    found: dict[str, tuple[list[AssetKey], bool]] = {}
    for _, _, dataset in catalog_datasets():
        if dataset.cadence in CADENCES:
            keys, dated = found.get(dataset.cadence, ([], False))
            found[dataset.cadence] = (
                [*keys, raw_asset_key(dataset)],
                dated or bool(dataset.partitioning),
            )
    return {cadence: found[cadence] for cadence in CADENCES if cadence in found}


def cadence_jobs() -> list[UnresolvedAssetJobDefinition]:
    """`refresh_<cadence>`: the raw assets of that cadence (their transform follows).

    The same job objects on every call (Definitions refuse two jobs of one name)."""
    return list(_cadence_jobs())


@cache
def _cadence_jobs() -> tuple[UnresolvedAssetJobDefinition, ...]:
    jobs = []
    for cadence, (keys, _) in cadence_assets().items():
        names = ", ".join(key.path[-1] for key in keys)
        jobs.append(
            define_asset_job(
                job_name(cadence),
                selection=AssetSelection.assets(*keys),
                description=f"Load the {cadence} datasets ({names}); the transform_after_load "
                "sensor then rebuilds what changed downstream (dbt models and tests, exports).",
                run_tags={
                    **WAREHOUSE_WRITER_TAGS,
                    TRIGGER_TAG: f"schedule:{cadence}",
                    PHASE_TAG: "load",
                },
                op_retry_policy=RAW_LOAD_RETRY,
            )
        )
    return tuple(jobs)


def build_cadence_schedule(
    job: UnresolvedAssetJobDefinition, cadence: str, dated: bool
) -> ScheduleDefinition:
    @schedule(
        cron_schedule=CRON[cadence],
        job=job,
        name=f"{job.name}_schedule",
        execution_timezone=schedule_timezone(),
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Refresh the {cadence} datasets from the live portals"
        + (" (previous and current month of dated datasets)." if dated else "."),
    )
    def refresh(context: ScheduleEvaluationContext) -> RunRequest:
        now = context.scheduled_execution_time or datetime.now(UTC)
        months = recent_months(now) if dated else None
        return RunRequest(
            run_config=live_run_config(months),
            tags={
                **WAREHOUSE_WRITER_TAGS,
                TRIGGER_TAG: f"schedule:{cadence}",
                PHASE_TAG: "load",
                **(months_tag(months) if months else {}),
            },
        )

    return refresh


def schedules(jobs: list[UnresolvedAssetJobDefinition] | None = None) -> list[ScheduleDefinition]:
    """One STOPPED schedule per cadence job (pass the jobs given to `Definitions`)."""
    by_name = {job.name: job for job in (jobs if jobs is not None else cadence_jobs())}
    return [
        build_cadence_schedule(by_name[job_name(cadence)], cadence, dated)
        for cadence, (_, dated) in cadence_assets().items()
        if job_name(cadence) in by_name
    ]
