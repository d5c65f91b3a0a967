-- NYC series by borough are complete: for every indicator with borough values and every
-- period with any borough value, there are exactly the 5 boroughs and 1 citywide row (the
-- city alone may go further back: LAUS publishes New York City from 1976, the counties
-- from 1990, and New York City one month later than the counties); and monthly series
-- have no gap (one row per area and month from the first to the last month, e.g. the
-- shooting series the early-warning models read month by month).
with facts as (

    select * from {{ ref('int_indicator_values__nyc') }}
    where indicator_id in (
        select indicator_id from {{ ref('int_indicator_values__nyc') }}
        where area_type = 'borough'
    )

),

per_period as (

    select
        indicator_id,
        period_start,
        'areas per period' as problem,
        count(distinct area_id) filter (where area_type = 'borough') as boroughs,
        count(*) filter (where area_type = 'city') as city_rows
    from facts
    group by indicator_id, period_start
    having count(*) filter (where area_type = 'borough') > 0
       and (count(distinct area_id) filter (where area_type = 'borough') <> 5
            or count(*) filter (where area_type = 'city') <> 1)

),

monthly_gaps as (

    select
        indicator_id,
        min(period_start) as period_start,
        'month gap in ' || area_id as problem,
        count(*) as boroughs,
        date_diff('month', min(period_start), max(period_start)) + 1 as city_rows
    from facts
    where period_grain = 'month'
    group by indicator_id, area_id
    having count(*) <> date_diff('month', min(period_start), max(period_start)) + 1

)

select * from per_period
union all
select * from monthly_gaps
