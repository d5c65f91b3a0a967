-- Monthly unemployment rate (percent) of every city's areas and of the city itself, one row
-- per area and month. A file may list an area several times for one month (NYC LAUS lists New
-- York City under several area types): the copies carry the same rate (n_distinct_rates is
-- tested = 1), so one value is kept. Annual averages (month 0) are not months; areas that
-- are not the city's (other counties of a state file) are out of scope.
with unemployment as (

    {{ with_resolved_areas(ref('stg_unemployment')) }}

)

select
    city,
    area_type,
    area_id,
    area_name,
    month_start,
    min(unemployment_rate_pct) as unemployment_rate_pct,
    count(*) as published_rows,
    count(distinct unemployment_rate_pct) as n_distinct_rates,
    min(dataset) as source_dataset
from unemployment
where excluded_by is null
  and area_id is not null
  and month_start is not null
  -- a month the publisher marks as missing (FRED's '.') has no value
  and unemployment_rate_pct is not null
group by city, area_type, area_id, area_name, month_start
