-- Each sub-city area of each city x outcome indicator over the reference window
-- (int_problem_windows): its residents, its window rate - the mean of its empirical-Bayes
-- rates for event rates (int_small_area_rates), of its values otherwise - with the standard
-- error of that mean (the months' posterior variances; the widened interval for cohorts),
-- its window target, and whether it is short of the target. people_affected (the population
-- share of the areas short of the target) and its draws are built from these rows.
{%- set z = normal_quantile_two_sided(analytics_setting('interval_level')) %}
with windows as (

    select * from {{ ref('int_problem_windows') }}

),

facts as (

    select * from {{ ref('int_analytic_values') }}
    where breakdown_type = 'all' and area_type not in ('city', 'county')

),

small as (

    select * from {{ ref('int_small_area_rates') }}
    where breakdown_type = 'all'

),

area_targets as (

    select
        gaps.city, gaps.indicator_id, gaps.area_type, gaps.area_id,
        avg(gaps.comparison_value) as target_value
    from {{ ref('fct_indicator_gaps') }} as gaps
    inner join windows
        on gaps.city = windows.city
        and gaps.indicator_id = windows.indicator_id
        and gaps.period_start between windows.window_start and windows.latest_period
    where gaps.gap_type = 'target' and gaps.breakdown_type = 'all'
      and gaps.area_type not in ('city', 'county')
    group by all

),

area_values as (

    select
        windows.city, windows.indicator_id, facts.area_type, facts.area_id,
        any_value(facts.area_name) as area_name,
        any_value(facts.worse_sign) as worse_sign,
        arg_max(facts.denominator, facts.period_start) as population,
        count(*) as window_periods,
        avg(coalesce(small.eb_value, facts.value)) as area_value,
        bool_or(small.eb_value is not null) as is_empirical_bayes,
        -- the standard error of the window mean
        case
            when bool_or(small.eb_value is not null)
                then sqrt(sum(case when small.prior_shape is null then 0
                    else pow(facts.value_scale, 2) * (small.numerator + small.prior_shape)
                        / pow(small.denominator + small.prior_rate, 2) end)) / count(*)
            when bool_and(facts.interval_upper is not null)
                then sqrt(sum(pow((facts.interval_upper - facts.interval_lower) / (2 * {{ z }}), 2))) / count(*)
        end as area_se
    from windows
    inner join facts
        on facts.city = windows.city
        and facts.indicator_id = windows.indicator_id
        and facts.period_start between windows.window_start and windows.latest_period
    left join small
        on small.city = facts.city
        and small.area_type = facts.area_type
        and small.area_id = facts.area_id
        and small.indicator_id = facts.indicator_id
        and small.period_start = facts.period_start
        and small.period_grain = facts.period_grain
    group by all

)

select
    area_values.*,
    area_targets.target_value,
    area_values.worse_sign * (area_values.area_value - area_targets.target_value) > 0 as is_short
from area_values
inner join area_targets using (city, indicator_id, area_type, area_id)
