"""The Dagster code location: `dagster dev -m pipelines.definitions` or `civic ui`."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    Definitions,
    colored_console_logger,
    define_asset_job,
    in_process_executor,
)

from pipelines.assets.exports import marts_parquet
from pipelines.assets.problems import problem_registry_assets
from pipelines.assets.raw import raw_assets
from pipelines.assets.reference import census_population, city_reference, dataset_catalog
from pipelines.assets.transform import civic_dbt_models
from pipelines.automation import WAREHOUSE_WRITER_TAGS
from pipelines.automation import jobs as automation_jobs
from pipelines.freshness import freshness_checks
from pipelines.progress import progress_logger
from pipelines.quality import quality_checks
from pipelines.resources import dbt_resource, warehouse_resource
from pipelines.schedules import schedules
from pipelines.sensors import sensors
from pipelines.sources import DataSources

# Everything: raw loads, dbt models and tests, Parquet exports. `civic run` executes it in two
# subsets (load, then transform: pipelines/runs.py); from the UI it runs whole.
everything_job = define_asset_job(
    "civic_everything",
    selection=AssetSelection.all(),
    description="Load every dataset, build every dbt model and test, export the marts.",
    run_tags=WAREHOUSE_WRITER_TAGS,  # queued with the other warehouse writers (deployment.md)
)

defs = Definitions(
    assets=[
        *raw_assets(),
        dataset_catalog,
        city_reference,
        census_population,
        *problem_registry_assets(),
        civic_dbt_models,
        marts_parquet,
    ],
    asset_checks=[*quality_checks(), *freshness_checks()],
    jobs=[everything_job, *automation_jobs()],
    schedules=schedules(),
    sensors=sensors(),
    resources={
        "warehouse": warehouse_resource(),
        "dbt": dbt_resource(),
        "sources": DataSources(),
    },
    loggers={"console": colored_console_logger, "progress": progress_logger},
    # DuckDB allows one writing process per file: run steps one after another in one process.
    executor=in_process_executor,
)
