"""The whole graph on the bundled data, checked against figures computed here from the raw files.

Each expected value is computed with polars straight from `sources/`, independently of the
dbt SQL, following the documented definitions (crime categories in
dbt_project/seeds/crime_categories.csv, population from the 2020 Census file).
"""

import duckdb
import polars as pl
import pytest

from pipelines.settings import SOURCES_DIR

CHICAGO = SOURCES_DIR / "chicago"
VIOLENT = {"HOMICIDE", "CRIMINAL SEXUAL ASSAULT", "ROBBERY"}
AGGRAVATED_IF = {"ASSAULT", "BATTERY"}
PROPERTY = {"BURGLARY", "THEFT", "MOTOR VEHICLE THEFT", "ARSON"}


def warehouse_values(warehouse, indicator_id: str, area_type: str, **where) -> pl.DataFrame:
    filters = "".join(f" and {column} = ${column}" for column in where)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select area_id, breakdown_value, period_start, value, numerator, denominator "
            "from marts.fct_indicator_values "
            f"where indicator_id = $indicator_id and area_type = $area_type{filters}",
            {"indicator_id": indicator_id, "area_type": area_type, **where},
        ).pl()


@pytest.fixture(scope="module")
def population_2020() -> pl.DataFrame:
    return pl.read_csv(CHICAGO / "population_2020.csv").select(
        pl.col("community_area_id").cast(pl.Int64).cast(pl.Utf8).alias("area_id"),
        pl.col("population_2020").alias("population"),
    )


@pytest.fixture(scope="module")
def crimes() -> pl.DataFrame:
    frame = pl.read_parquet(CHICAGO / "crimes_2022.parquet")
    category = (
        pl.when(pl.col("Primary Type").is_in(VIOLENT))
        .then(pl.lit("violent"))
        .when(
            pl.col("Primary Type").is_in(AGGRAVATED_IF)
            & pl.col("Description").str.starts_with("AGGRAVATED")
        )
        .then(pl.lit("violent"))
        .when(pl.col("Primary Type").is_in(PROPERTY))
        .then(pl.lit("property"))
    )
    return frame.select(
        category.alias("category"),
        pl.col("Community Area").cast(pl.Int64).cast(pl.Utf8).alias("area_id"),
        pl.col("Date")
        .str.to_datetime("%Y-%m-%d %H:%M:%S")
        .dt.truncate("1mo")
        .dt.date()
        .alias("period_start"),
    )


def test_all_four_domains_have_indicator_values(built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        domains = {
            row[0]
            for row in con.execute(
                "select distinct domain from marts.fct_indicator_values "
                "join marts.dim_indicators using (indicator_id)"
            ).fetchall()
        }
    assert domains == {"crime", "education", "development", "spending"}
