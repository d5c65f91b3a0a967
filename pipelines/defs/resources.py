"""Resources, loggers and the executor every job of the code location uses."""

from __future__ import annotations

from dagster import Definitions, colored_console_logger, definitions, in_process_executor

from pipelines.progress import progress_logger
from pipelines.resources import dbt_resource, warehouse_resource
from pipelines.sources import DataSources


@definitions
def resources() -> Definitions:
    return Definitions(
        resources={
            "warehouse": warehouse_resource(),
            "dbt": dbt_resource(),
            "sources": DataSources(),
        },
        loggers={"console": colored_console_logger, "progress": progress_logger},
        # DuckDB allows one writing process per file: run steps one after another in one
        # process.
        executor=in_process_executor,
    )
