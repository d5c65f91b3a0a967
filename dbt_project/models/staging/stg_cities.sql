-- One row per city catalog: its name, time zone, fiscal year, Census geography and where its
-- own population comes from (meta.cities, written from sources/cities/*.yml).
select
    city,
    name as city_name,
    aliases,
    timezone,
    fiscal_year_start_month,
    census_place,
    census_counties,
    population_choice,
    population_area_type
from {{ source('meta', 'cities') }}
