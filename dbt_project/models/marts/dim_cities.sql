-- One row per city catalog (sources/cities/<city>.yml): its display name, time zone, fiscal
-- year, Census geography and where its own population comes from. The dashboards' city
-- switch and every mart's `city` refer to it.
select
    cities.city,
    cities.city_name,
    cities.timezone,
    cities.fiscal_year_start_month,
    cities.census_place,
    cities.census_counties,
    coalesce(population.basis, 'none') as population_basis,
    population.population_source,
    population.first_year as population_first_year,
    population.last_year as population_last_year
from {{ ref('stg_cities') }} as cities
left join (
    select city, min(basis) as basis, min(population_source) as population_source,
        min(year) as first_year, max(year) as last_year
    from {{ ref('int_city_population') }}
    group by city
) as population using (city)
