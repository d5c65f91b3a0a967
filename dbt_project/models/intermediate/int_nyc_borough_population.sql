-- Population of each NYC borough (= county) per year, one estimate per year (docs block
-- nyc_population_rule). The Census Bureau file gives up to two programs per county-year:
--   Intercensal Population Estimate  July 1, revised after the next census   (1970-2009 here)
--   Postcensal Population Estimate   July 1, from the latest census onwards  (2010-2022 here)
--   Census Base Population           April 1 census count                    (1970, 1980, ... 2020)
-- Preference: intercensal (revised, most accurate), then postcensal, then the census base
-- (only used if a year had no July 1 estimate at all). So every year is a July 1 estimate and
-- census years do not jump to an April count.
with population as (

    select * from {{ ref('stg_nyc__population') }}

),

boroughs as (

    select * from {{ ref('nyc_boroughs') }}

),

borough_estimates as (

    select
        boroughs.area_id,
        boroughs.area_name,
        population.year,
        population.estimate_type,
        population.population,
        case population.estimate_type
            when 'Intercensal Population Estimate' then 1
            when 'Postcensal Population Estimate' then 2
            when 'Census Base Population' then 3
        end as estimate_preference
    from population
    -- both the published name and the FIPS code must match the seed (a borough that fails
    -- to match is caught by the borough_count test of int_nyc_city_population)
    inner join boroughs
        on boroughs.area_spelling = population.area_name
        and boroughs.area_id = population.area_fips

),

chosen as (

    select
        area_id,
        area_name,
        year,
        population,
        estimate_type,
        count(*) over (partition by area_id, year) as estimates_published
    from borough_estimates
    qualify row_number() over (
        partition by area_id, year
        order by estimate_preference
    ) = 1

)

select * from chosen
