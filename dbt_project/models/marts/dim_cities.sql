-- One row per city catalog (sources/cities/<city>.yml): its display name, time zone, fiscal
-- year, Census geography and where its own population comes from; for the dashboards, its
-- areas, how recent its data are and its CityScore-style score. The dashboards' city switch
-- and every mart's `city` refer to it, so a city added by catalog appears with no page change.
with cities as (

    select * from {{ ref('stg_cities') }}

),

population as (

    select city, min(basis) as basis, min(population_source) as population_source,
        min(year) as first_year, max(year) as last_year
    from {{ ref('int_city_population') }}
    group by city

),

datasets as (

    select city, count(*) as n_datasets
    from {{ source('meta', 'datasets') }}
    group by city

),

values_ as (

    select * from {{ ref('fct_indicator_values') }}

),

area_types as (

    -- "77 community areas, 1 county": the kinds of area with data, largest first
    select
        city,
        string_agg(
            n_areas || ' ' || case
                when n_areas = 1 then area_label
                when area_label like '%y' then left(area_label, -1) || 'ies'
                else area_label || 's'
            end,
            ', ' order by n_areas desc, area_label asc
        ) as areas_label
    from (
        select city, replace(area_type, '_', ' ') as area_label, count(distinct area_id) as n_areas
        from values_
        where area_type <> 'city'
        group by city, area_type
    ) as area_counts
    group by city

),

coverage as (

    -- how recent the city's measured data are: a budget (appropriations, the spending kind of
    -- a plan) covers a fiscal year that has not happened yet, so it is no data coverage
    select
        city,
        min(period_start) as first_period,
        max({{ period_end('period_start', 'period_grain') }}) - interval 1 day as data_until
    from values_
    where not starts_with(indicator_id, 'appropriations_')
    group by city

),

scores as (

    -- Boston's CityScore averages its metrics' scores: the mean of the latest scores
    select
        city,
        avg(score) as city_score,
        count(*) as n_scored,
        count(*) filter (where band = 'on_track') as n_on_track,
        count(*) filter (where band = 'near_track') as n_near_track,
        count(*) filter (where band = 'off_track') as n_off_track
    from {{ ref('fct_indicator_scorecard') }}
    where is_latest and score is not null
    group by city

)

select
    cities.city,
    cities.city_name,
    cities.timezone,
    cities.fiscal_year_start_month,
    cities.census_place,
    array_to_string(cities.census_counties, ', ') as census_counties,
    coalesce(population.basis, 'none') as population_basis,
    population.population_source,
    population.first_year as population_first_year,
    population.last_year as population_last_year,
    coalesce(datasets.n_datasets, 0) as n_datasets,
    area_types.areas_label,
    coverage.first_period,
    cast(coverage.data_until as date) as data_until,
    {{ dashboards_as_of() }} as as_of_date,
    scores.city_score,
    coalesce(scores.n_scored, 0) as n_scored,
    coalesce(scores.n_on_track, 0) as n_on_track,
    coalesce(scores.n_near_track, 0) as n_near_track,
    coalesce(scores.n_off_track, 0) as n_off_track
from cities
left join population using (city)
left join datasets using (city)
left join area_types using (city)
left join coverage using (city)
left join scores using (city)
