"""What spans every city: the jobs, the cadence schedules, the freshness checks and the
sensors that are not one dataset's (transform after load, freshness, notifications).

See `pipelines.automation` for how unattended runs work. The portal-update sensors are each
one dataset's, built with their city (`cities`).
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, definitions

from pipelines.automation import WAREHOUSE_WRITER_TAGS, jobs
from pipelines.freshness import freshness_checks
from pipelines.schedules import schedules
from pipelines.sensors import shared_sensors

# Everything: raw loads, dbt models and tests, Parquet exports. `civic run` executes it in two
# subsets (load, then transform: pipelines/runs.py); from the UI it runs whole.
everything_job = define_asset_job(
    "civic_everything",
    selection=AssetSelection.all(),
    description="Load every dataset, build every dbt model and test, export the marts.",
    run_tags=WAREHOUSE_WRITER_TAGS,  # queued with the other warehouse writers (deployment.md)
)


@definitions
def automation() -> Definitions:
    checks = freshness_checks()
    return Definitions(
        asset_checks=checks,
        jobs=[everything_job, *jobs()],
        schedules=schedules(),
        sensors=shared_sensors(checks),
    )
