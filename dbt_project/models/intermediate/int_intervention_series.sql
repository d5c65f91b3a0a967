-- The outcome series of each evaluation by group: the city (time series), or the treated
-- areas and the comparison areas added up (difference in differences), per period of the
-- window. A period counts for a group only when every one of its areas has a count, so a
-- missing area never looks like a drop.
with area_series as (

    select * from {{ ref('int_intervention_area_series') }}

),

group_sizes as (

    select city, local_intervention_id, indicator_id, area_role, count(distinct area_id) as n_areas
    from area_series
    group by all

)

select
    area_series.city,
    area_series.local_intervention_id,
    area_series.indicator_id,
    area_series.design,
    area_series.period_grain,
    area_series.area_role as series_group,
    area_series.period_start,
    area_series.phase,
    sum(area_series.event_count) as event_count,
    sum(area_series.exposure) as exposure,
    count(area_series.event_count) as n_areas_counted,
    any_value(group_sizes.n_areas) as n_areas
from area_series
inner join group_sizes using (city, local_intervention_id, indicator_id, area_role)
group by all
having count(area_series.event_count) = any_value(group_sizes.n_areas)
