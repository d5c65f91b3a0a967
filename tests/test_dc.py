"""Washington, DC's indicators, checked against figures computed here from the raw files.

DC was added by configuration only (sources/cities/dc.yml, sources/offenses/dc.csv). Nothing
below reuses the dbt SQL: report times are read from the published UTC timestamps and turned
into DC local time, offences classified by the rules file, wards matched by number, and the
populations taken from the ACS ward file and the bundled Census county estimates.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from pipelines.settings import SOURCES_DIR

DC = SOURCES_DIR / "dc"


@pytest.fixture(scope="module")
def incidents() -> pl.DataFrame:
    rules = pl.read_csv(SOURCES_DIR / "offenses" / "dc.csv")
    crimes = pl.read_csv(
        DC / "crime_incidents_2022_jan_sep.tsv.gz", separator="\t", infer_schema=False
    )
    return (
        crimes.with_columns(
            pl.col("REPORT_DAT")
            .str.to_datetime("%Y/%m/%d %H:%M:%S%#z", time_zone="UTC")
            .dt.convert_time_zone("America/New_York")
            .dt.date()
            .dt.truncate("1mo")
            .alias("period_start"),
            pl.col("WARD").alias("area_id"),
        )
        .join(rules.select(pl.col("offense").alias("OFFENSE"), "category"), on="OFFENSE")
        # the complete months of the file (it ends on 8 September, local time)
        .filter(pl.col("period_start") <= date(2022, 8, 1))
    )


def warehouse(built_warehouse, sql: str, params: dict) -> pl.DataFrame:
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        return con.sql(sql, params=params).pl()


@pytest.mark.parametrize("category", ["violent", "property"])
def test_ward_rates_by_month(built_warehouse, incidents, category):
    population = pl.read_csv(DC / "ward_population_acs5.csv", infer_schema=False).select(
        pl.col("Name").str.extract(r"^Ward (\d+)").alias("area_id"),
        pl.col("SEX AND AGE: Total population").cast(pl.Float64).alias("denominator"),
    )
    counts = (
        incidents.filter((pl.col("category") == category) & pl.col("area_id").is_not_null())
        .group_by("area_id", "period_start")
        .agg(pl.len().cast(pl.Float64).alias("numerator"))
    )
    expected = (
        population.join(counts, on="area_id")
        .with_columns((pl.col("numerator") / pl.col("denominator") * 100_000).alias("value"))
        .sort("area_id", "period_start")
    )
    actual = warehouse(
        built_warehouse,
        "select area_id, period_start, numerator, denominator, value "
        "from marts.fct_indicator_values "
        "where city = 'dc' and area_type = 'ward' and indicator_id = $indicator "
        "and year(period_start) = 2022 order by area_id, period_start",
        {"indicator": f"{category}_crime_rate"},
    )
    assert expected.height == 8 * 8  # 8 wards x January-August
    assert actual["area_id"].to_list() == expected["area_id"].to_list()
    assert actual["period_start"].to_list() == expected["period_start"].to_list()
    assert actual["numerator"].to_list() == expected["numerator"].to_list()
    assert actual["value"].to_list() == pytest.approx(expected["value"].to_list())


def test_city_rate_counts_every_incident_over_the_census_county_estimate(
    built_warehouse, incidents
):
    counties = pl.read_csv(SOURCES_DIR / "reference" / "census_counties_2010_2021.csv.gz")
    # 2022 has no estimate: the latest one before it (2021, Vintage 2021)
    dc_2021 = counties.filter((pl.col("geoid") == 11001) & (pl.col("year") == 2021))
    population = float(dc_2021["population"][0])
    expected = (
        incidents.filter(pl.col("category") == "violent")  # incl. the rows without a ward
        .group_by("period_start")
        .agg(pl.len().cast(pl.Float64).alias("numerator"))
        .sort("period_start")
    )
    actual = warehouse(
        built_warehouse,
        "select period_start, numerator, denominator, population_year, population_vintage "
        "from marts.fct_indicator_values where city = 'dc' and area_type = 'city' "
        "and indicator_id = 'violent_crime_rate' and year(period_start) = 2022 "
        "order by period_start",
        {},
    )
    assert actual["numerator"].to_list() == expected["numerator"].to_list()
    assert set(actual["denominator"]) == {population}
    assert set(actual["population_year"]) == {2021}
    assert set(actual["population_vintage"]) == {"Census Bureau estimate, V2021"}


def test_partial_months_and_the_gap_between_the_files_are_not_values(built_warehouse):
    months = warehouse(
        built_warehouse,
        "select distinct period_start from marts.fct_indicator_values "
        "where city = 'dc' and indicator_id = 'property_crime_rate' order by 1",
        {},
    )["period_start"].to_list()
    expected = [date(2022, m, 1) for m in range(1, 9)] + [date(2024, 1, 1), date(2024, 2, 1)]
    assert months == expected
