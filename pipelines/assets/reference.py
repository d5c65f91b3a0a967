"""Reference tables written from configuration: the dataset catalog as `meta.datasets`.

The data-health mart joins it with the load log, so freshness is judged against each
dataset's declared cadence and the dashboards can name and link every dataset.
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from pipelines.assets.raw import portal_url
from pipelines.catalog import STALE_AFTER_DAYS, city_catalogs
from pipelines.loading import META_DDL

COLUMNS = (
    "city varchar, dataset varchar, raw_table varchar, title varchar, domain varchar, "
    "cadence varchar, stale_after_days integer, portal_kind varchar, portal_url varchar, "
    "portal_dataset_id varchar, feeds varchar, license varchar, provenance varchar, "
    "city_name varchar"  # the catalog's display name ("New York City"), for the dashboards
)


def catalog_rows() -> list[tuple]:
    return [
        (
            catalog.city,
            name,
            dataset.raw_table,
            dataset.title,
            dataset.domain,
            dataset.cadence,
            STALE_AFTER_DAYS[dataset.cadence],
            dataset.portal.kind,
            portal_url(dataset),
            dataset.portal.dataset_id,
            dataset.feeds,
            dataset.license,
            dataset.provenance,
            catalog.name,
        )
        for catalog in city_catalogs()
        for name, dataset in catalog.datasets.items()
    ]


@asset(
    key=AssetKey(["meta", "datasets"]),
    group_name="reference",
    kinds={"duckdb"},
    description="Every dataset of every city catalog (sources/cities/*.yml), one row each.",
)
def dataset_catalog(context: AssetExecutionContext, warehouse: DuckDBResource) -> MaterializeResult:
    rows = catalog_rows()
    placeholders = ", ".join("?" * len(rows[0]))
    with warehouse.get_connection() as con:
        con.execute(META_DDL)
        con.execute("begin transaction")
        con.execute(f"create or replace table meta.datasets ({COLUMNS})")
        con.executemany(f"insert into meta.datasets values ({placeholders})", rows)
        con.execute("commit")
    context.log.info(f"meta.datasets: {len(rows)} datasets")
    return MaterializeResult(metadata={"dagster/row_count": len(rows)})
