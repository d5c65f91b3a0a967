-- The outcome before and after each local intervention, for charts: one row per evaluation
-- and period of its window, with the observed events (the treated areas, or the city), the
-- comparison areas' events, and the count expected without any change:
--   difference in differences: the comparison areas' count scaled to the treated areas'
--     before level (what parallel trends predict);
--   interrupted time series: the fitted trend and seasons with the step removed.
-- Rates use the indicator's scale (per 100,000 residents for crime) where residents are known.
with evaluations as (

    select * from {{ ref('int_intervention_readiness') }}

),

statistics as (

    select indicator_id, try_cast(value_scale as double) as value_scale
    from {{ ref('indicator_statistics') }}

),

groups as (

    select
        city, local_intervention_id, indicator_id, period_start, any_value(phase) as phase,
        sum(event_count) filter (where series_group in ('treated', 'city')) as observed_count,
        sum(exposure) filter (where series_group in ('treated', 'city')) as observed_exposure,
        sum(event_count) filter (where series_group = 'comparison') as comparison_count,
        sum(exposure) filter (where series_group = 'comparison') as comparison_exposure
    from {{ ref('int_intervention_series') }}
    group by all

),

its_fits as (

    select city, local_intervention_id, indicator_id, period_start, expected_without_change
    from {{ ref('int_intervention_its_fits') }}

),

did as (

    select city, local_intervention_id, indicator_id,
        treated_events_before / comparison_events_before as comparison_scale
    from {{ ref('int_intervention_did') }}

)

select
    groups.city,
    groups.local_intervention_id,
    groups.indicator_id,
    evaluations.design,
    evaluations.period_grain,
    groups.period_start,
    groups.phase,
    groups.observed_count,
    groups.comparison_count,
    coalesce(its_fits.expected_without_change, groups.comparison_count * did.comparison_scale)
        as expected_count,
    statistics.value_scale,
    groups.observed_count * statistics.value_scale / nullif(groups.observed_exposure, 0) as observed_rate,
    groups.comparison_count * statistics.value_scale / nullif(groups.comparison_exposure, 0)
        as comparison_rate,
    coalesce(its_fits.expected_without_change, groups.comparison_count * did.comparison_scale)
        * statistics.value_scale / nullif(groups.observed_exposure, 0) as expected_rate
from groups
inner join evaluations using (city, local_intervention_id, indicator_id)
left join statistics using (indicator_id)
left join its_fits using (city, local_intervention_id, indicator_id, period_start)
left join did using (city, local_intervention_id, indicator_id)
