-- Difference in differences for every ready area-based evaluation (macro random_effects_did,
-- formulas in ANALYTICS.md): the change after the start in the treated areas' events
-- relative to the comparison areas', with its interval; and the parallel-trends check, the
-- same estimate between the first and the second half of the before window (a change there,
-- with no effort yet, means the groups were already drifting apart).
{%- set level = intervention_setting('intervention_interval_level') %}
with ready as (

    select city, local_intervention_id, indicator_id
    from {{ ref('int_intervention_readiness') }}
    where is_ready and design = 'difference_in_differences'

),

complete_periods as (

    -- periods where both groups have every area counted
    select city, local_intervention_id, indicator_id, period_start
    from {{ ref('int_intervention_series') }}
    where phase in ('pre', 'post')
    group by all
    having count(distinct series_group) = 2

),

area_rows as (

    select area_series.*
    from {{ ref('int_intervention_area_series') }} as area_series
    inner join ready using (city, local_intervention_id, indicator_id)
    inner join complete_periods using (city, local_intervention_id, indicator_id, period_start)
    where area_series.area_role in ('treated', 'comparison') and area_series.event_count is not null

),

main_rows as (

    select *, case phase when 'pre' then 'before' else 'after' end as did_phase
    from area_rows

),

pre_rows as (

    -- the before window split in two halves by period order
    select *,
        case when period_rank <= n_pre / 2 then 'before' else 'after' end as did_phase
    from (
        select *,
            dense_rank() over (
                partition by city, local_intervention_id, indicator_id order by period_start
            ) as period_rank,
            count(distinct period_start) over (partition by city, local_intervention_id, indicator_id) as n_pre
        from area_rows
        where phase = 'pre'
    ) as ranked

),

main_input as (

    select city, local_intervention_id, indicator_id, area_id, area_role, period_start,
        did_phase as phase, event_count
    from main_rows

),

check_input as (

    select city, local_intervention_id, indicator_id, area_id, area_role, period_start,
        did_phase as phase, event_count
    from pre_rows

),

main as {{ random_effects_did('main_input', level) }},

parallel_check as {{ random_effects_did('check_input', level) }}

select
    main.city,
    main.local_intervention_id,
    main.indicator_id,
    main.t_before as treated_events_before,
    main.t_after as treated_events_after,
    main.c_before as comparison_events_before,
    main.c_after as comparison_events_after,
    main.n_periods,
    main.dispersion,
    main.tau_square as heterogeneity_variance,
    main.n_comparison_informative as n_comparison_areas_informative,
    main.degrees_of_freedom,
    main.t_quantile,
    main.rate_ratio,
    main.log_ratio_variance,
    main.log_ratio,
    main.log_ratio_lower,
    main.log_ratio_upper,
    parallel_check.rate_ratio as pre_trend_rate_ratio,
    parallel_check.log_ratio as pre_trend_log_ratio,
    parallel_check.log_ratio_lower as pre_trend_log_ratio_lower,
    parallel_check.log_ratio_upper as pre_trend_log_ratio_upper
from main
left join parallel_check using (city, local_intervention_id, indicator_id)
