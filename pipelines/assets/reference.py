"""Reference tables written from configuration and bundled reference data.

- `meta.datasets`: every dataset of every catalog; the data-health mart judges freshness
  against each dataset's declared cadence and the dashboards name and link every dataset.
- `meta.cities`, `meta.areas`, `meta.offense_rules`: what the catalogs say about each city
  (fiscal year, Census geography, where its population comes from, its areas and their
  spellings, its offence classification), read by dbt as sources so the SQL is the same for
  every city.
- `reference.census_places`, `reference.census_counties`: the Census Bureau population
  estimates bundled in `sources/reference/` (see sources/PROVENANCE.md), so a city naming its
  Census place or counties gets per-resident rates with no population file of its own.

Each table is replaced in one transaction, so readers never see half of one.
"""

from collections.abc import Sequence

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    asset,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from pipelines.assets.raw import portal_url
from pipelines.catalog import city_catalogs, stale_after_days
from pipelines.loading import META_DDL
from pipelines.offenses import offense_rules
from pipelines.settings import SOURCES_DIR

COLUMNS = (
    "city varchar, dataset varchar, raw_table varchar, title varchar, domain varchar, "
    "cadence varchar, stale_after_days integer, portal_kind varchar, portal_url varchar, "
    "portal_dataset_id varchar, feeds varchar, license varchar, provenance varchar"
)
CITY_TABLES = {
    "cities": (
        "city varchar, name varchar, aliases varchar[], timezone varchar, "
        "fiscal_year_start_month integer, census_place varchar, census_counties varchar[], "
        "population_choice varchar, population_area_type varchar"
    ),
    "areas": (
        "city varchar, area_type varchar, area_id varchar, area_name varchar, spellings varchar[]"
    ),
    "offense_rules": (
        "city varchar, offenses_file varchar, rule_id integer, offense varchar, "
        "description_like varchar, description_not_like varchar, ucr_offense varchar, "
        "category varchar, rationale varchar"
    ),
}
CENSUS_FILES = {
    "census_places": "reference/census_places_2010_2019.csv.gz",
    "census_counties": "reference/census_counties_2010_2021.csv.gz",
}


def catalog_rows() -> list[tuple]:
    return [
        (
            catalog.city,
            name,
            dataset.raw_table,
            dataset.title,
            dataset.domain,
            dataset.cadence,
            stale_after_days(dataset.cadence),
            dataset.portal.kind,
            portal_url(dataset),
            dataset.portal.dataset_id,
            dataset.feeds,
            dataset.license,
            dataset.provenance,
        )
        for catalog in city_catalogs()
        for name, dataset in catalog.datasets.items()
    ]


def city_rows() -> dict[str, list[tuple]]:
    """Rows of meta.cities, meta.areas and meta.offense_rules from the catalogs."""
    rows: dict[str, list[tuple]] = {table: [] for table in CITY_TABLES}
    for catalog in city_catalogs():
        choice = catalog.population_choice
        rows["cities"].append(
            (
                catalog.city,
                catalog.name,
                catalog.aliases,
                catalog.timezone,
                catalog.fiscal_year_start_month,
                catalog.census.place,
                catalog.census.counties,
                choice.split(":")[0] if choice else None,
                choice.removeprefix("areas:") if choice and choice.startswith("areas:") else None,
            )
        )
        for area_type, spec in catalog.areas.items():
            rows["areas"] += [
                (catalog.city, area_type, area.id, area.name, area.spellings)
                for area in spec.listed()
            ]
        files = sorted({d.offenses for d in catalog.datasets.values() if d.offenses})
        for file in files:
            rows["offense_rules"] += [
                (
                    catalog.city,
                    file,
                    rule.rule_id,
                    rule.offense,
                    rule.description_like,
                    rule.description_not_like,
                    rule.ucr_offense,
                    rule.category,
                    rule.rationale,
                )
                for rule in offense_rules(file)
            ]
    return rows


def replace_table(con, table: str, columns: str, rows: Sequence[tuple]) -> None:
    """Create `table` with `columns` holding `rows`, in the caller's transaction."""
    con.execute(f"create or replace table {table} ({columns})")
    if rows:
        placeholders = ", ".join("?" * len(rows[0]))
        con.executemany(f"insert into {table} values ({placeholders})", list(rows))


@asset(
    key=AssetKey(["meta", "datasets"]),
    group_name="reference",
    kinds={"duckdb"},
    description="Every dataset of every city catalog (sources/cities/*.yml), one row each.",
)
def dataset_catalog(context: AssetExecutionContext, warehouse: DuckDBResource) -> MaterializeResult:
    rows = catalog_rows()
    with warehouse.get_connection() as con:
        con.execute(META_DDL)
        con.execute("begin transaction")
        replace_table(con, "meta.datasets", COLUMNS, rows)
        con.execute("commit")
    context.log.info(f"meta.datasets: {len(rows)} datasets")
    return MaterializeResult(metadata={"dagster/row_count": len(rows)})


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["meta", table]),
            group_name="reference",
            kinds={"duckdb"},
            description=f"meta.{table}: from the city catalogs (sources/cities/*.yml).",
        )
        for table in CITY_TABLES
    ],
)
def city_reference(context: AssetExecutionContext, warehouse: DuckDBResource):
    rows = city_rows()
    with warehouse.get_connection() as con:
        con.execute(META_DDL)
        con.execute("begin transaction")
        for table, columns in CITY_TABLES.items():
            replace_table(con, f"meta.{table}", columns, rows[table])
        con.execute("commit")
    for table in CITY_TABLES:
        context.log.info(f"meta.{table}: {len(rows[table])} rows")
        yield MaterializeResult(
            asset_key=AssetKey(["meta", table]),
            metadata={"dagster/row_count": len(rows[table])},
        )


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["reference", table]),
            group_name="reference",
            kinds={"duckdb"},
            description=f"Census Bureau population estimates (sources/{file}).",
        )
        for table, file in CENSUS_FILES.items()
    ],
)
def census_population(context: AssetExecutionContext, warehouse: DuckDBResource):
    with warehouse.get_connection() as con:
        con.execute("create schema if not exists reference")
        con.execute("begin transaction")
        counts = {}
        for table, file in CENSUS_FILES.items():
            con.execute(
                f"create or replace table reference.{table} as "
                "select geoid, name, state, year, population, vintage from read_csv($path, "
                "header = true, columns = {'geoid': 'varchar', 'name': 'varchar', "
                "'state': 'varchar', 'year': 'integer', 'population': 'bigint', "
                "'vintage': 'varchar'})",
                {"path": str(SOURCES_DIR / file)},
            )
            counts[table] = con.execute(f"select count(*) from reference.{table}").fetchone()[0]
        con.execute("commit")
    for table, rows in counts.items():
        context.log.info(f"reference.{table}: {rows:,} rows")
        yield MaterializeResult(
            asset_key=AssetKey(["reference", table]), metadata={"dagster/row_count": rows}
        )
