-- Census population of each community area, one row per area and census year, with the
-- span of period years each census is used for as a rate denominator:
--   a period uses the latest census year <= its year; periods older than the first census
--   use the first census. valid_to_year is the year before the next census (null = open).
with censuses as (

    select community_area_id, census_year, population
    from {{ ref('stg_chicago__population_2010') }}

    union all

    select community_area_id, census_year, population
    from {{ ref('stg_chicago__population_2020') }}

),

with_validity as (

    select
        community_area_id,
        census_year,
        population,
        case
            when census_year = min(census_year) over (partition by community_area_id)
                then null
            else census_year
        end as valid_from_year,
        lead(census_year) over (partition by community_area_id order by census_year) - 1
            as valid_to_year
    from censuses

)

select * from with_validity
