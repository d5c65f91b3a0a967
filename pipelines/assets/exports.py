"""Export the marts to Parquet: what dashboards and releases read instead of the warehouse.

Readers never open the DuckDB file (it allows one writer), and Evidence's DuckDB reader cannot
open files written by newer DuckDB versions, while it reads Parquet fine. Each run writes a
complete new generation and switches `exports/` to it at once (`pipelines.generations`).
"""

import os
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from pipelines.assets.transform import civic_dbt_models
from pipelines.automation import NO_RETRY
from pipelines.generations import new_generation
from pipelines.settings import paths

MARTS_SCHEMA = "marts"

mart_keys: list[AssetKey] = sorted(
    (key for key, group in civic_dbt_models.group_names_by_key.items() if group == "marts"),
    key=lambda key: key.to_user_string(),
)


def export_marts(con: duckdb.DuckDBPyConnection, target: Path) -> dict[str, int]:
    """Write every table of the marts schema to `<target>/<table>.parquet`; rows per table.

    Each file is written beside its final name and then renamed, so a reader never sees a
    half-written file.
    """
    target.mkdir(parents=True, exist_ok=True)
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "order by table_name",
            [MARTS_SCHEMA],
        ).fetchall()
    ]
    rows = {}
    for table in tables:
        final = target / f"{table}.parquet"
        partial = target / f".{table}.parquet.partial"
        con.execute(
            f"copy (select * from {MARTS_SCHEMA}.\"{table}\") to '{partial}' "
            "(format parquet, compression zstd)"
        )
        os.replace(partial, final)
        rows[table] = con.execute(f'select count(*) from {MARTS_SCHEMA}."{table}"').fetchone()[0]
    return rows


@asset(
    key=AssetKey(["exports", "marts_parquet"]),
    deps=mart_keys,
    group_name="exports",
    retry_policy=NO_RETRY,
    kinds={"parquet"},
    description="Every mart table as a Parquet file, for the dashboards and published releases.",
)
def marts_parquet(context: AssetExecutionContext, warehouse: DuckDBResource) -> MaterializeResult:
    target = paths().exports
    # A new generation beside the current one, switched in whole (pipelines.generations).
    with new_generation(target, context.run.run_id) as folder, warehouse.get_connection() as con:
        rows = export_marts(con, folder)
    context.log.info(f"exported {len(rows)} mart tables to {target} ({folder.name})")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(target)),
            "generation": MetadataValue.text(folder.name),
            "tables": MetadataValue.json(rows),
        }
    )
