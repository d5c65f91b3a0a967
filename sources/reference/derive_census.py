"""Derive the bundled Census reference population files from the Census Bureau extracts.

    python sources/reference/derive_census.py /path/to/shared/data/us/population

Writes, next to this script, two long tables (one row per area and year, July 1 estimates):

- census_places_2010_2019.csv.gz: incorporated places with 50,000 residents or more in any
  year 2010-2019 (SUB-EST2019_ALL, Vintage 2019);
- census_counties_2010_2021.csv.gz: every county, 2010-2019 from CO-EST2019-ALLDATA
  (Vintage 2019) and 2020-2021 from CO-EST2021-ALLDATA (Vintage 2021, a Latin-1 file).

The two county vintages are different estimate series (Vintage 2021 is based on the 2020
Census): every row says its vintage, so nothing downstream splices them silently.
"""

import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
MIN_PLACE_POPULATION = 50_000


def derive(shared: Path) -> None:
    con = duckdb.connect()
    places = shared / "sub-est2019_all_incorporated_places.csv"
    years = ", ".join(f"POPESTIMATE{year}" for year in range(2010, 2020))
    con.execute(
        f"""
        create table places as
        with wide as (
            select
                lpad(STATE::varchar, 2, '0') || lpad(PLACE::varchar, 5, '0') as geoid,
                NAME as name, STNAME as state, {years}
            from read_csv('{places}', all_varchar = false, header = true)
            where SUMLEV = 162
        ),
        long as (
            unpivot wide on {years} into name estimate value population
        )
        select geoid, name, state, cast(right(estimate, 4) as integer) as year,
            cast(population as bigint) as population, 'V2019' as vintage
        from long
        qualify max(population) over (partition by geoid) >= {MIN_PLACE_POPULATION}
        order by geoid, year
        """
    )
    counties_2019 = shared / "co-est2019-alldata.csv"
    counties_2021 = shared / "co-est2021-alldata.csv"
    years_2019 = ", ".join(f"POPESTIMATE{year}" for year in range(2010, 2020))
    con.execute(
        f"""
        create table counties as
        with v2019 as (
            select lpad(STATE::varchar, 2, '0') || lpad(COUNTY::varchar, 3, '0') as geoid,
                CTYNAME as name, STNAME as state, {years_2019}
            from read_csv('{counties_2019}', header = true)
            where SUMLEV = 50
        ),
        v2021 as (
            select lpad(STATE::varchar, 2, '0') || lpad(COUNTY::varchar, 3, '0') as geoid,
                CTYNAME as name, STNAME as state, POPESTIMATE2020, POPESTIMATE2021
            from read_csv('{counties_2021}', header = true, encoding = 'latin-1')
            where SUMLEV = 50
        ),
        long as (
            select geoid, name, state, estimate, population, 'V2019' as vintage
            from (unpivot v2019 on {years_2019} into name estimate value population)
            union all
            select geoid, name, state, estimate, population, 'V2021' as vintage
            from (unpivot v2021 on POPESTIMATE2020, POPESTIMATE2021
                  into name estimate value population)
        )
        -- one name per county: the Vintage 2021 file's (the re-saved 2019 file mangled
        -- some accents, e.g. 'DoÒa Ana County' for 'Doña Ana County')
        select long.geoid, coalesce(v2021.name, long.name) as name, long.state,
            cast(right(long.estimate, 4) as integer) as year,
            cast(long.population as bigint) as population, long.vintage
        from long
        left join v2021 using (geoid)
        order by long.geoid, year
        """
    )
    for table, file in [
        ("places", "census_places_2010_2019.csv.gz"),
        ("counties", "census_counties_2010_2021.csv.gz"),
    ]:
        con.execute(f"copy {table} to '{HERE / file}' (header, compression gzip)")
        rows, areas = con.execute(f"select count(*), count(distinct geoid) from {table}").fetchone()
        print(f"{file}: {rows:,} rows, {areas:,} areas")


if __name__ == "__main__":
    derive(Path(sys.argv[1]))
