-- Population of the city per census year = sum of its 77 community areas, with the same
-- validity span as int_community_area_population (used as the citywide rate denominator).
with area_population as (

    select * from {{ ref('int_community_area_population') }}

),

city as (

    select
        census_year,
        sum(population) as population,
        count(*) as community_area_count,
        -- identical for every area of a census year (one common set of census years)
        min(valid_from_year) as valid_from_year,
        max(valid_to_year) as valid_to_year
    from area_population
    group by census_year

)

select * from city
