"""Raw assets: one per (city, dataset) in the catalogs, loading the data into `raw.<table>`.

Dated datasets (those with `partitioning` in the catalog) are monthly-partitioned assets: a
run loads a range of months in one go (single-run backfill) and replaces exactly those months.
"""

import warnings
from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    asset,
)
from dagster_duckdb import DuckDBResource

from pipelines.catalog import CityCatalog, Dataset, city_catalogs
from pipelines.loading import RAW_SCHEMA, MonthRange, latest_watermark, load_raw_table
from pipelines.quality.row_rules import row_rules
from pipelines.quality.suites import raw_suite
from pipelines.sources import DataSources


def raw_asset_key(dataset: Dataset) -> AssetKey:
    # Matches dagster-dbt's key for the dbt source `raw.<table>`, which wires the lineage.
    return AssetKey([RAW_SCHEMA, dataset.raw_table])


def monthly_partitions() -> MonthlyPartitionsDefinition | None:
    """One monthly partitioning shared by every dated dataset, so one job can hold them all.

    It starts at the earliest `partitioning.start` of all catalogs and includes the current
    month (end_offset=1), which live loads refresh as it fills up.
    """
    starts = [
        dataset.partitioning.start_date
        for catalog in city_catalogs()
        for dataset in catalog.datasets.values()
        if dataset.partitioning
    ]
    if not starts:
        return None
    return MonthlyPartitionsDefinition(start_date=min(starts).isoformat(), end_offset=1)


MONTHLY = monthly_partitions()

# Single-run backfills are what we want; Dagster marks the parameter beta and warns each time.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=Warning)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def months_to_load(context: AssetExecutionContext, dataset: Dataset) -> MonthRange | None:
    """The months this run replaces: the partition range, clipped to the dataset's start."""
    spec = dataset.partitioning
    if spec is None:
        return None
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    every_month = MONTHLY.get_partition_keys()
    whole = context.partition_key_range.start == every_month[0] and (
        context.partition_key_range.end == every_month[-1]
    )
    return MonthRange(spec.column, spec.format, max(start, spec.start_date), end, whole_range=whole)


def portal_url(dataset: Dataset) -> str:
    portal = dataset.portal
    if portal.kind == "socrata" and portal.dataset_id:
        return f"{portal.base_url}/d/{portal.dataset_id}"
    return portal.base_url


def build_raw_asset(catalog: CityCatalog, name: str, dataset: Dataset) -> AssetsDefinition:
    dated = dataset.partitioning is not None

    @asset(
        key=raw_asset_key(dataset),
        group_name=f"raw_{catalog.city}",
        description=f"{catalog.name}: {dataset.title}. {dataset.description}",
        kinds={"duckdb", dataset.portal.kind},
        tags={"city": catalog.city, "domain": dataset.domain, "cadence": dataset.cadence},
        partitions_def=MONTHLY if dated else None,
        backfill_policy=BackfillPolicy.single_run() if dated else None,
        metadata={
            "city": catalog.city,
            "dataset": name,
            "portal": MetadataValue.url(portal_url(dataset)),
            "portal_dataset_id": dataset.portal.dataset_id or "",
            "cadence": dataset.cadence,
            "canonical_table": dataset.feeds or "",
            "license": dataset.license,
            "provenance": dataset.provenance,
        },
    )
    def load(
        context: AssetExecutionContext, warehouse: DuckDBResource, sources: DataSources
    ) -> MaterializeResult:
        months = months_to_load(context, dataset)
        with warehouse.get_connection() as con:
            extract = sources.extract(con, catalog.city, name, dataset, months)
            rows = extract.rows()
            if rows is None and extract.unchanged_ok:
                context.log.info(f"raw.{dataset.raw_table}: unchanged at the source, kept as is")
                return MaterializeResult(metadata={"dagster/row_count": 0, "mode": "unchanged"})
            result = load_raw_table(
                con,
                dataset.raw_table,
                rows if rows is not None else [],
                context.run_id,
                columns=dataset.columns,
                months=months,
                merge_key=extract.merge_key,
                watermark=extract.watermark,
                source=extract.connector.source_uri(),
                row_rules=row_rules(raw_suite(dataset)),
            )
            watermark = latest_watermark(con, dataset.raw_table)
        scope = f" for {months.describe()}" if months else ""
        context.log.info(f"raw.{result.table}: loaded {result.rows:,} rows{scope}")
        if result.quarantined:
            context.log.warning(
                f"raw.{result.table}: {result.quarantined:,} rows quarantined "
                "(see meta.quarantined_rows)"
            )
        return MaterializeResult(
            metadata={
                "dagster/row_count": result.rows,
                "quarantined_rows": result.quarantined,
                "source": extract.connector.source_uri(),
                "mode": extract.mode,
                "watermark": watermark or "",
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
