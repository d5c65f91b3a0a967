-- Population of each city per year, by the city's own rule (catalog `city_population`):
--   areas:<type>     the sum of its areas of that type (Chicago: the 77 community areas of
--                    each census; NYC: the five borough estimates of each year), only for
--                    years where every listed area has a figure;
--   census_place     the Census Bureau estimate of its place (2010-2019, Vintage 2019);
--   census_counties  the sum of its counties' Census estimates (2010-2019 Vintage 2019,
--                    2020-2021 Vintage 2021: two series, said in population_vintage).
-- A city whose chosen source has no figure at all falls back to its Census place, then its
-- counties. Same validity span rule as int_area_population (macro population_applies).
with cities as (

    select * from {{ ref('stg_cities') }}

),

area_counts as (

    select city, area_type, count(*) as n_areas
    from {{ ref('int_areas') }}
    group by all

),

from_areas as (

    select
        population.city,
        population.year,
        sum(population.population) as population,
        count(*) as n_parts,
        string_agg(distinct population.estimate_type, ', ' order by population.estimate_type)
            as population_vintage,
        'sum of ' || count(*) || ' ' || replace(population.area_type, '_', ' ') || ' populations ('
            || string_agg(distinct population.population_source, ', ' order by population.population_source)
            || ')' as population_source,
        'areas' as basis
    from {{ ref('int_area_population') }} as population
    inner join cities
        on cities.city = population.city
        and cities.population_choice = 'areas'
        and cities.population_area_type = population.area_type
    inner join area_counts
        on area_counts.city = population.city and area_counts.area_type = population.area_type
    group by population.city, population.year, population.area_type, area_counts.n_areas
    -- a year missing an area would understate the city
    having count(*) = area_counts.n_areas

),

census_places as (

    select
        cities.city, census.year, census.population, 1 as n_parts,
        'Census Bureau estimate, ' || census.vintage as population_vintage,
        'Census Bureau place estimates (place ' || census.geoid || ')' as population_source,
        'census_place' as basis
    from cities
    inner join {{ ref('stg_census_population') }} as census
        on census.geography = 'place' and census.geoid = cities.census_place

),

census_counties as (

    select
        cities.city, census.year, sum(census.population) as population, count(*) as n_parts,
        'Census Bureau estimate, ' || string_agg(distinct census.vintage, ', ') as population_vintage,
        'Census Bureau county estimates (' || string_agg(census.geoid, ', ' order by census.geoid)
            || ')' as population_source,
        'census_counties' as basis
    from cities
    cross join unnest(cities.census_counties) as listed (geoid)
    inner join {{ ref('stg_census_population') }} as census
        on census.geography = 'county' and census.geoid = listed.geoid
    group by cities.city, census.year, len(cities.census_counties)
    having count(*) = len(cities.census_counties)

),

candidates as (

    select * from from_areas
    union all
    select * from census_places
    union all
    select * from census_counties

),

chosen as (

    -- the chosen source if it has any figure for the city, else the first fallback that has
    select
        candidates.*,
        case
            when candidates.basis = cities.population_choice then 0
            when candidates.basis = 'census_place' then 1
            when candidates.basis = 'census_counties' then 2
            else 3
        end as preference
    from candidates
    inner join cities using (city)
    qualify preference = min(preference) over (partition by candidates.city)

)

select
    chosen.city,
    cities.city_name,
    chosen.year,
    chosen.population,
    chosen.n_parts,
    chosen.basis,
    chosen.population_source,
    chosen.population_vintage,
    case when chosen.year = min(chosen.year) over (partition by chosen.city) then null else chosen.year end
        as valid_from_year,
    lead(chosen.year) over (partition by chosen.city order by chosen.year) - 1 as valid_to_year
from chosen
inner join cities using (city)
