"""What unattended runs (schedules and portal sensors) share: live config, tags, months, retries.

- Unattended runs read the live portals (the `sources` resource's `live` flag).
- They carry the tag `civic/warehouse-writer`, which the Dagster instance's run queue limits to
  one run at a time (DuckDB allows one writing process per file; see docs/deployment.md).
- Dated datasets refresh the previous and the current month (the `sources` resource's
  `first_month`/`last_month`, also shown in the tag `civic/months`): late rows land in last
  month, new rows in this one.
- A run loads (raw assets only); when it ends, failed or not, the `transform_after_load`
  sensors start a transform run (`civic_transform`: dbt models and tests, exports) of what is
  downstream of the tables that changed, so one city's failed load never stops the others'
  marts. `civic run` does the same two phases in one process (`pipelines.runs`).
- Raw loads retry with exponential backoff (`RAW_LOAD_RETRY`, the jobs' `op_retry_policy`)
  when a portal is down for longer than the connectors' own per-request retries cover. A raw
  load is atomic, so a retry never leaves half a load behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from dagster import Backoff, Jitter, RetryPolicy

from pipelines.catalog import Dataset, city_catalogs

WAREHOUSE_WRITER_TAG = "civic/warehouse-writer"
WAREHOUSE_WRITER_TAGS = {WAREHOUSE_WRITER_TAG: "duckdb"}
TRIGGER_TAG = "civic/trigger"  # "schedule:<cadence>" or "portal-update"
DATASET_TAG = "civic/dataset"  # "<city>.<dataset>" for portal-update runs
MONTHS_TAG = "civic/months"  # "2026-10..2026-11": the months a run of dated datasets loads
PHASE_TAG = "civic/phase"  # "load" or "transform"
LOAD_RUN_TAG = "civic/load-run"  # on a transform run: the load run it follows

# Three more tries after 1, 2 and 4 minutes (+/- jitter): a portal restart or a short outage.
# The unattended jobs carry it as their `op_retry_policy` (interactive `civic run` does not
# retry: the analyst is watching). Steps that are not network loads opt out with NO_RETRY.
RAW_LOAD_RETRY = RetryPolicy(
    max_retries=3, delay=60, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)
# For dbt models/tests and exports: a failed dbt test is not fixed by trying again.
NO_RETRY = RetryPolicy(max_retries=0)


def live_run_config(months: tuple[str, str] | None = None) -> dict:
    """Run config of an unattended run: read the portals, not the bundled copies; with
    `months` (first, last as YYYY-MM), reload those months of dated datasets."""
    config: dict = {"live": True}
    if months:
        config.update(first_month=months[0], last_month=months[1])
    return {"resources": {"sources": {"config": config}}}


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def previous_month(day: date) -> date:
    first = month_start(day)
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def recent_months(now: datetime) -> tuple[str, str]:
    """The previous and the current month of `now`, as YYYY-MM."""
    return previous_month(now.date()).strftime("%Y-%m"), now.date().strftime("%Y-%m")


def months_tag(months: tuple[str, str]) -> dict[str, str]:
    return {MONTHS_TAG: f"{months[0]}..{months[1]}"}


def catalog_datasets() -> Iterable[tuple[str, str, Dataset]]:
    """(city, dataset name, dataset) of every catalog, in catalog order."""
    for catalog in city_catalogs():
        for name, dataset in catalog.datasets.items():
            yield catalog.city, name, dataset


def jobs() -> list:
    """Every job the schedules and sensors start: `refresh_<cadence>`, the portal-update job
    (loads) and `civic_transform`."""
    from pipelines.schedules import cadence_jobs
    from pipelines.sensors import portal_update_job
    from pipelines.transform_runs import transform_job

    return [*cadence_jobs(), portal_update_job(), transform_job()]
