-- Year-to-year declines of annual rates beyond sampling noise (e.g. a school's graduation
-- rate sliding). change = value - value of the previous year; z = worse_sign * change / se:
--   binomial_change:   proportion with cohort sizes both years: se = binomial standard error
--                      sqrt(p1(1-p1)/n1 + p0(1-p0)/n0) (in the value's unit);
--   poisson_change:    annual event rates with counts: z = worse_sign * 2 (sqrt(n1) - sqrt(n0));
--   historical_change: no cohort size (Chicago graduation): se = the sd of the series' own
--                      earlier year-to-year changes (at least ew_annual_min_history of them),
--                      i.e. a decline larger than the usual year-to-year movement
--                      (floored at ew_annual_min_se = 1 point).
-- Levels from ew_level_z (one-sided: 1.96 watch, 2.576 warning, 3.09 alert).
{%- set levels = analytics_setting('ew_level_z') %}
{%- set min_history = analytics_setting('ew_annual_min_history') %}
with values_ as (

    select * from {{ ref('int_analytic_values') }}
    where period_grain = 'year'
      and value_kind in ('proportion', 'published_rate', 'event_rate')

),

changes as (

    select
        now_.*,
        before.value as previous_value,
        before.numerator as previous_numerator,
        before.denominator as previous_denominator,
        now_.value - before.value as change
    from values_ as now_
    inner join values_ as before
        on before.city = now_.city
        and before.area_type = now_.area_type
        and before.area_id = now_.area_id
        and before.indicator_id = now_.indicator_id
        and before.breakdown_type = now_.breakdown_type
        and before.breakdown_value = now_.breakdown_value
        and before.period_start = cast(now_.period_start - interval 1 year as date)

),

with_history as (

    select
        *,
        -- earlier year-to-year changes of the same series (not including this one)
        stddev_samp(change) over earlier as history_sd,
        count(change) over earlier as history_n
    from changes
    window earlier as (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value
        order by period_start
        rows between unbounded preceding and 1 preceding
    )

),

tested as (

    select
        *,
        case
            when value_kind = 'proportion' and denominator > 0 and previous_denominator > 0
                then 'binomial_change'
            when value_kind = 'event_rate' and numerator is not null and previous_numerator is not null
                then 'poisson_change'
            when history_n >= {{ min_history }} and history_sd > 0
                then 'historical_change'
        end as method,
        case
            when value_kind = 'proportion' and denominator > 0 and previous_denominator > 0
                then value_scale * sqrt(
                    (value / value_scale) * (1 - value / value_scale) / denominator
                    + (previous_value / value_scale) * (1 - previous_value / value_scale) / previous_denominator)
            -- floor: 3-5 earlier changes can be nearly equal by chance, which would turn a
            -- 2-point dip into an alert (var ew_annual_min_se, in the value's unit)
            when history_n >= {{ min_history }} and history_sd > 0
                then greatest(history_sd, {{ analytics_setting('ew_annual_min_se') }})
        end as standard_error
    from with_history

),

scored as (

    select
        *,
        case
            when method = 'poisson_change'
                then worse_sign * 2 * (sqrt(numerator) - sqrt(previous_numerator))
            when standard_error > 0 then worse_sign * change / standard_error
        end as statistic
    from tested
    where method is not null

)

select
    *,
    {{ alert_level('statistic', levels) }} as level
from scored
