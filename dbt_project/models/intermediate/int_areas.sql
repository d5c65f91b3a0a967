-- Every city's areas, one row per city x area type x area id, with one display name:
--   * as its catalog lists them (inline, a numbered pattern, or a lookup dataset);
--   * the counties named in its `census.counties`, named from the Census reference, unless
--     the catalog lists its counties itself (e.g. a county series standing in for the city);
--   * for an area type its record-level data use (crime incidents, permits) but the catalog
--     does not list: the area ids seen in those records, named '<area type label> <id>';
--   * the city itself (area_type 'city', area_id = the city id).
{%- set area_types = civic_area_types() %}
with listed as (

    select city, area_type, area_id, area_name, listed_by from {{ ref('stg_areas') }}

),

census_counties as (

    select cities.city, 'county' as area_type, counties.geoid as area_id,
        counties.name || ', ' || counties.state as area_name, 'census' as listed_by
    from {{ ref('stg_cities') }} as cities
    cross join unnest(cities.census_counties) as listed_county (geoid)
    inner join (
        select distinct geoid, name, state from {{ ref('stg_census_population') }}
        where geography = 'county'
    ) as counties on counties.geoid = listed_county.geoid
    where not exists (
        select 1 from listed where listed.city = cities.city and listed.area_type = 'county'
    )

),

seen as (

    select distinct city, area_type, area_key as area_id
    from {{ ref('stg_crime_incidents') }}
    where area_key is not null and area_type is not null and excluded_by is null
    union
    select distinct city, area_type, area_key as area_id
    from {{ ref('stg_permits') }}
    where area_key is not null and area_type is not null and excluded_by is null

),

unlisted as (

    select
        seen.city, seen.area_type, seen.area_id,
        case seen.area_type
            {%- for name, spec in area_types.items() %}
            when {{ civic_literal(name) }} then {{ civic_literal(spec.label ~ ' ') }} || seen.area_id
            {%- endfor %}
        end as area_name,
        'records' as listed_by
    from seen
    where not exists (
        select 1 from listed
        where listed.city = seen.city and listed.area_type = seen.area_type
    )

),

cities as (

    select city, 'city' as area_type, city as area_id, city_name as area_name, 'catalog' as listed_by
    from {{ ref('stg_cities') }}

)

select * from listed
union all
select * from census_counties
union all
select * from unlisted
union all
select * from cities
