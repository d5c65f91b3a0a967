"""Dagster resources shared by the assets: the warehouse connection and the dbt CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from pipelines.assets.transform import dbt_project
from pipelines.child_processes import dbt_executable
from pipelines.settings import paths, settings


class WarehouseResource(DuckDBResource):
    """DuckDBResource whose connection is closed when the block raises too: dagster-duckdb
    closes it only after a block that succeeds, so a refused load kept the file open (and
    DuckDB's lock held) in this process until garbage collection.

    Each connection sets DuckDB's memory limit to `CIVIC_DUCKDB_MEMORY_LIMIT`."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().get_connection() as con:
            try:
                con.execute("set memory_limit = $limit", {"limit": settings().duckdb_memory_limit})
                yield con
            finally:
                con.close()


def warehouse_resource() -> DuckDBResource:
    """A short-lived connection per use, so no process holds the file between steps."""
    warehouse = paths().warehouse
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    # dbt runs in a subprocess and finds the same file and limit through these (profiles.yml).
    os.environ["CIVIC_WAREHOUSE"] = str(warehouse)
    os.environ["CIVIC_DUCKDB_MEMORY_LIMIT"] = settings().duckdb_memory_limit
    return WarehouseResource(database=str(warehouse))


def dbt_resource() -> DbtCliResource:
    # dbt dies with the run that started it (pipelines.child_processes)
    launcher = dbt_executable(paths().home / "bin")
    return DbtCliResource(project_dir=dbt_project, dbt_executable=launcher)
