"""What unattended runs (schedules and portal sensors) share: live config, tags, months, retries.

- Unattended runs read the live portals (the `sources` resource's `live` flag).
- They carry the tag `civic/warehouse-writer`, which the Dagster instance's run queue limits to
  one run at a time (DuckDB allows one writing process per file; see docs/deployment.md).
- Dated (monthly-partitioned) datasets refresh the previous and the current month: late rows
  land in last month, new rows in this one.
- Raw loads retry with exponential backoff (`RAW_LOAD_RETRY`, the jobs' `op_retry_policy`)
  when a portal is down for longer than the connectors' own per-request retries cover. A raw
  load is atomic, so a retry never leaves half a load behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from dagster import AssetKey, Backoff, Jitter, RetryPolicy
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from pipelines.assets.raw import raw_asset_key
from pipelines.catalog import Dataset, city_catalogs

WAREHOUSE_WRITER_TAG = "civic/warehouse-writer"
WAREHOUSE_WRITER_TAGS = {WAREHOUSE_WRITER_TAG: "duckdb"}
TRIGGER_TAG = "civic/trigger"  # "schedule:<cadence>" or "portal-update"
DATASET_TAG = "civic/dataset"  # "<city>.<dataset>" for portal-update runs

# Three more tries after 1, 2 and 4 minutes (+/- jitter): a portal restart or a short outage.
# The unattended jobs carry it as their `op_retry_policy` (interactive `civic run` does not
# retry: the analyst is watching). Steps that are not network loads opt out with NO_RETRY.
RAW_LOAD_RETRY = RetryPolicy(
    max_retries=3, delay=60, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)
# For dbt models/tests and exports: a failed dbt test is not fixed by trying again.
NO_RETRY = RetryPolicy(max_retries=0)


def live_run_config() -> dict:
    """Run config of an unattended run: read the portals, not the bundled copies."""
    return {"resources": {"sources": {"config": {"live": True}}}}


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def previous_month(day: date) -> date:
    first = month_start(day)
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def recent_months_tags(now: datetime) -> dict[str, str]:
    """Partition range tags for the previous and the current month of `now` (clipped to the
    monthly partitions; empty when no dataset is dated)."""
    from pipelines.assets.raw import MONTHLY

    if MONTHLY is None:
        return {}
    keys = MONTHLY.get_partition_keys(current_time=now)
    if not keys:
        return {}
    wanted = [previous_month(now.date()).isoformat(), month_start(now.date()).isoformat()]
    inside = [key for key in wanted if keys[0] <= key <= keys[-1]] or [keys[-1]]
    return {ASSET_PARTITION_RANGE_START_TAG: inside[0], ASSET_PARTITION_RANGE_END_TAG: inside[-1]}


def catalog_datasets() -> Iterable[tuple[str, str, Dataset]]:
    """(city, dataset name, dataset) of every catalog, in catalog order."""
    for catalog in city_catalogs():
        for name, dataset in catalog.datasets.items():
            yield catalog.city, name, dataset


def is_dated(key: AssetKey) -> bool:
    return any(
        raw_asset_key(dataset) == key and dataset.partitioning is not None
        for _, _, dataset in catalog_datasets()
    )


def jobs() -> list:
    """Every job the schedules and sensors start: `refresh_<cadence>` and the portal-update job."""
    from pipelines.schedules import cadence_jobs
    from pipelines.sensors import portal_update_job

    return [*cadence_jobs(), portal_update_job()]
