"""Raw assets: one per (city, dataset) in the catalogs, loading the data into `raw.<table>`."""

from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from pipelines.catalog import CityCatalog, Dataset, city_catalogs
from pipelines.connectors import FileConnector
from pipelines.loading import RAW_SCHEMA, MonthRange, load_raw_table
from pipelines.settings import SOURCES_DIR


def raw_asset_key(dataset: Dataset) -> AssetKey:
    # Matches dagster-dbt's key for the dbt source `raw.<table>`, which wires the lineage.
    return AssetKey([RAW_SCHEMA, dataset.raw_table])


def bundled_connector(dataset: Dataset) -> FileConnector:
    return FileConnector(SOURCES_DIR, dataset.bundled.path, dataset.bundled.format)


def whole_range(dataset: Dataset) -> MonthRange | None:
    """For a dated dataset, every month from the catalog's start to the current month."""
    if dataset.partitioning is None:
        return None
    today = date.today()
    after_this_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    spec = dataset.partitioning
    return MonthRange(spec.column, spec.format, spec.start_date, after_this_month, whole_range=True)


def portal_url(dataset: Dataset) -> str:
    portal = dataset.portal
    if portal.kind == "socrata" and portal.dataset_id:
        return f"{portal.base_url}/d/{portal.dataset_id}"
    return portal.base_url


def build_raw_asset(catalog: CityCatalog, name: str, dataset: Dataset) -> AssetsDefinition:
    @asset(
        key=raw_asset_key(dataset),
        group_name=f"raw_{catalog.city}",
        description=f"{catalog.name}: {dataset.title}. {dataset.description}",
        kinds={"duckdb", dataset.bundled.format},
        tags={"city": catalog.city, "domain": dataset.domain},
        metadata={
            "city": catalog.city,
            "dataset": name,
            "portal": MetadataValue.url(portal_url(dataset)),
            "license": dataset.license,
            "provenance": dataset.provenance,
        },
    )
    def load(context: AssetExecutionContext, warehouse: DuckDBResource) -> MaterializeResult:
        connector = bundled_connector(dataset)
        with warehouse.get_connection() as con:
            result = load_raw_table(
                con,
                dataset.raw_table,
                connector.batches(),
                context.run_id,
                columns=dataset.columns,
                months=whole_range(dataset),
                source=connector.source_uri(),
            )
        context.log.info(f"raw.{result.table}: loaded {result.rows:,} rows")
        if result.quarantined:
            context.log.warning(
                f"raw.{result.table}: {result.quarantined:,} rows quarantined "
                "(see meta.quarantined_rows)"
            )
        return MaterializeResult(
            metadata={
                "dagster/row_count": result.rows,
                "quarantined_rows": result.quarantined,
                "source": connector.source_uri(),
                "load_id": result.load_id,
                "loaded_at": MetadataValue.timestamp(result.loaded_at),
                "columns": len(result.columns),
            }
        )

    return load


def raw_assets() -> list[AssetsDefinition]:
    return [
        build_raw_asset(catalog, name, dataset)
        for catalog in city_catalogs()
        for name, dataset in catalog.datasets.items()
    ]
