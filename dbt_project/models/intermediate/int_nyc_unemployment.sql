-- Monthly unemployment rate (percent) of New York City and each borough, one row per area
-- and month. The file repeats New York City 2-3 times per month (it is listed under several
-- area types); the copies carry the same rate (n_distinct_rates is tested = 1), so one
-- value is kept. Annual averages (month 0) are not months: left out.
with unemployment as (

    select * from {{ ref('stg_nyc__unemployment') }}
    where not is_annual_average

),

boroughs as (

    select * from {{ ref('nyc_boroughs') }}

),

areas as (

    select
        case when unemployment.area_name = 'New York City' then 'city' else 'borough' end
            as area_type,
        case when unemployment.area_name = 'New York City' then 'nyc' else boroughs.area_id end
            as area_id,
        case
            when unemployment.area_name = 'New York City' then 'New York City'
            else boroughs.area_name
        end as area_name,
        unemployment.month_start,
        unemployment.unemployment_rate_pct
    from unemployment
    left join boroughs on boroughs.area_spelling = unemployment.area_name

)

select
    area_type,
    area_id,
    area_name,
    month_start,
    min(unemployment_rate_pct) as unemployment_rate_pct,
    count(*) as published_rows,
    count(distinct unemployment_rate_pct) as n_distinct_rates
from areas
group by area_type, area_id, area_name, month_start
