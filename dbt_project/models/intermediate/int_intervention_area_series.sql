-- The outcome series each evaluation reads, area by area, inside its window: the city's own
-- series for a time series; for a difference in differences the treated areas and the
-- comparison areas. Comparison areas are those the registry names, else every area of the
-- type with the indicator that no local intervention of the same kind treats in the city
-- (so an area treated later by the same programme is never a "control").
-- phase: pre (the before window), transition (the start year when only the year is known,
-- and the ramp-up), post (the after window). The count is the indicator's numerator (events),
-- the exposure its denominator (residents).
with evaluations as (

    select * from {{ ref('int_intervention_evaluations') }}
    where design <> 'none' and period_grain is not null

),

registry_areas as (

    select * from {{ ref('stg_registry__intervention_areas') }}

),

interventions as (

    select city, local_intervention_id, intervention_id
    from {{ ref('stg_registry__local_interventions') }}

),

values as (

    select city, area_type, area_id, indicator_id, period_grain, period_start, numerator, denominator
    from {{ ref('int_intervention_outcome_values') }}
    where breakdown_type = 'all'

),

-- areas treated by any effort of the same intervention in the city: never default controls
same_kind_treated as (

    select distinct interventions.city, interventions.intervention_id, registry_areas.area_type,
        registry_areas.area_id
    from registry_areas
    inner join interventions using (city, local_intervention_id)
    where registry_areas.area_role = 'treated'

),

named_comparisons as (

    select city, local_intervention_id, count(*) as n_named
    from registry_areas
    where area_role = 'comparison'
    group by all

),

roles as (

    -- time series: the city itself
    select evaluations.city, evaluations.local_intervention_id, evaluations.indicator_id,
        'city' as area_type, evaluations.city as area_id, 'city' as area_role
    from evaluations
    where evaluations.design = 'interrupted_time_series'

    union all

    -- difference in differences: the registry's treated and named comparison areas
    select evaluations.city, evaluations.local_intervention_id, evaluations.indicator_id,
        registry_areas.area_type, registry_areas.area_id, registry_areas.area_role
    from evaluations
    inner join registry_areas using (city, local_intervention_id)
    where evaluations.design = 'difference_in_differences'

    union all

    -- default comparison: every other area of the type with this indicator
    select distinct evaluations.city, evaluations.local_intervention_id, evaluations.indicator_id,
        values.area_type, values.area_id, 'comparison'
    from evaluations
    inner join values
        on values.city = evaluations.city
        and values.area_type = evaluations.series_area_type
        and values.indicator_id = evaluations.indicator_id
        and values.period_grain = evaluations.period_grain
    left join named_comparisons
        on named_comparisons.city = evaluations.city
        and named_comparisons.local_intervention_id = evaluations.local_intervention_id
    left join same_kind_treated
        on same_kind_treated.city = evaluations.city
        and same_kind_treated.intervention_id = evaluations.intervention_id
        and same_kind_treated.area_type = values.area_type
        and same_kind_treated.area_id = values.area_id
    where evaluations.design = 'difference_in_differences'
      and named_comparisons.n_named is null
      and same_kind_treated.area_id is null

)

select
    evaluations.city,
    evaluations.local_intervention_id,
    evaluations.indicator_id,
    evaluations.design,
    evaluations.period_grain,
    roles.area_type,
    roles.area_id,
    roles.area_role,
    values.period_start,
    case
        when values.period_start between evaluations.pre_first_period and evaluations.pre_last_period
            then 'pre'
        when values.period_start between evaluations.post_first_period and evaluations.post_last_period
            then 'post'
        else 'transition'
    end as phase,
    values.numerator as event_count,
    values.denominator as exposure
from evaluations
inner join roles
    on roles.city = evaluations.city
    and roles.local_intervention_id = evaluations.local_intervention_id
    and roles.indicator_id = evaluations.indicator_id
inner join values
    on values.city = roles.city
    and values.area_type = roles.area_type
    and values.area_id = roles.area_id
    and values.indicator_id = roles.indicator_id
    and values.period_grain = evaluations.period_grain
where values.period_start between evaluations.pre_first_period
    and greatest(evaluations.post_last_period, evaluations.pre_last_period)
