-- Area series are complete, for every city: for every indicator with values by area (not
-- schools, which open and close), every period with any area value has every area that has
-- values of that indicator, and a citywide row wherever the city has citywide values of the
-- indicator at all (the city alone may go further back: LAUS publishes New York City from
-- 1976, its counties from 1990); and monthly series have no gap (one row per area and month
-- from the first to the last month: the early-warning models read them month by month).
with facts as (

    select * from {{ ref('fct_indicator_values') }}
    where breakdown_type = 'all' and area_type not in ('school', 'county')

),

series_areas as (

    select city, indicator_id, area_type, count(distinct area_id) as n_areas
    from facts
    where area_type <> 'city'
    group by all

),

has_city as (

    select distinct city, indicator_id from facts where area_type = 'city'

),

per_period as (

    select
        facts.city,
        facts.indicator_id,
        facts.period_start,
        'areas per period' as problem,
        count(distinct facts.area_id) filter (where facts.area_type = series_areas.area_type) as areas,
        count(*) filter (where facts.area_type = 'city') as city_rows
    from facts
    inner join series_areas using (city, indicator_id)
    group by facts.city, facts.indicator_id, facts.period_start, series_areas.n_areas, series_areas.area_type
    having count(*) filter (where facts.area_type = series_areas.area_type) > 0
       and (
           count(distinct facts.area_id) filter (where facts.area_type = series_areas.area_type) <> series_areas.n_areas
           or (count(*) filter (where facts.area_type = 'city') <> 1
               and exists (select 1 from has_city
                           where has_city.city = facts.city and has_city.indicator_id = facts.indicator_id))
       )

),

monthly_gaps as (

    select
        city,
        indicator_id,
        min(period_start) as period_start,
        'month gap in ' || area_type || ' ' || area_id as problem,
        count(*) as areas,
        date_diff('month', min(period_start), max(period_start)) + 1 as city_rows
    from facts
    where period_grain = 'month'
    group by city, indicator_id, area_type, area_id, source_dataset
    having count(*) <> date_diff('month', min(period_start), max(period_start)) + 1

)

select * from per_period
union all
select * from monthly_gaps
