-- One row per city: its display name, its areas, how recent its data are and its
-- CityScore-style score. Pages take the list of cities and their names from here, so a city
-- added by catalog appears with no page change.
--
-- Name: the catalog's `name` (meta.datasets.city_name) where the catalog layer provides it,
-- else the name of the city's citywide area in the indicators, else the id capitalised.
{%- set has_city_name = false -%}
{%- if execute -%}
    {%- set catalog_columns = adapter.get_columns_in_relation(source('meta', 'datasets')) | map(attribute='name') | list -%}
    {%- set has_city_name = 'city_name' in catalog_columns -%}
{%- endif %}
with catalog_cities as (

    select
        city,
        {% if has_city_name %}max(city_name){% else %}cast(null as varchar){% endif %} as catalog_name,
        count(*) as n_datasets
    from {{ source('meta', 'datasets') }}
    group by city

),

values_ as (

    select * from {{ ref('fct_indicator_values') }}

),

citywide_names as (

    select city, min(area_name) as area_name
    from values_
    where area_type = 'city'
    group by city

),

area_types as (

    select
        city,
        string_agg(
            n_areas || ' ' || case
                when n_areas = 1 then area_label
                when area_label like '%y' then left(area_label, -1) || 'ies'
                else area_label || 's'
            end,
            ', ' order by n_areas desc
        ) as areas_label
    from (
        select city, replace(area_type, '_', ' ') as area_label, count(distinct area_id) as n_areas
        from values_
        where area_type <> 'city'
        group by city, area_type
    )
    group by city

),

coverage as (

    select
        city,
        min(period_start) as first_period,
        max({{ period_end('period_start', 'period_grain') }}) - interval 1 day as data_until
    from values_
    group by city

),

scores as (

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
    catalog_cities.city,
    coalesce(
        catalog_cities.catalog_name,
        citywide_names.area_name,
        upper(left(catalog_cities.city, 1)) || substr(catalog_cities.city, 2)
    ) as city_name,
    catalog_cities.n_datasets,
    area_types.areas_label,
    coverage.first_period,
    cast(coverage.data_until as date) as data_until,
    {{ dashboards_as_of() }} as as_of_date,
    scores.city_score,
    coalesce(scores.n_scored, 0) as n_scored,
    coalesce(scores.n_on_track, 0) as n_on_track,
    coalesce(scores.n_near_track, 0) as n_near_track,
    coalesce(scores.n_off_track, 0) as n_off_track
from catalog_cities
left join citywide_names using (city)
left join area_types using (city)
left join coverage using (city)
left join scores using (city)
