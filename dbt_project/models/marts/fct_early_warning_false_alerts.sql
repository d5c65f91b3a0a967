-- How many of the board's flags to expect by chance, per city, grain and level (a level's
-- row counts flags at that level or higher), to show beside the early-warning board:
--   tests_per_week            chosen tests run per week (every watched series and period)
--   reported_per_week         flags that survived false-discovery control, per week
--   expected_false_per_week   at most q x reported: BH keeps the expected share of false
--                             flags among those reported at or below the level's target q
--   expected_false_per_week_without_control   alpha x tests: what a per-test rule alone would
--                             flag per week with no real change anywhere
-- Monthly and yearly tests are spread over the weeks they cover (7 / days in the period).
-- The series_grain 'all' row of each city and level sums its grains: the board's figure.
-- The same figures for the latest period of each grain are in the *_latest columns.
{%- set alpha = analytics_setting('ew_level_alpha') %}
{%- set q = analytics_setting('ew_fdr_q') %}
with tests as (

    select
        city, series_grain, period_start, level,
        case series_grain
            when 'day' then 7.0
            when 'week' then 1.0
            when 'month' then 7.0 / day(last_day(period_start))
            else 7.0 / (dayofyear(make_date(year(period_start), 12, 31)))
        end as weeks_share
    from {{ ref('int_early_warning_fdr') }}

),

levels as (

    select * from (values
        ('watch', 1, {{ alpha['watch'] }}, {{ q['watch'] }}),
        ('warning', 2, {{ alpha['warning'] }}, {{ q['warning'] }}),
        ('alert', 3, {{ alpha['alert'] }}, {{ q['alert'] }})
    ) as t (level, level_rank, alpha, fdr_target)

),

per_period as (

    select
        tests.city, tests.series_grain, tests.period_start, levels.level, levels.alpha,
        levels.fdr_target, any_value(tests.weeks_share) as weeks_share,
        count(*) as tests,
        count(*) filter (where case tests.level when 'alert' then 3 when 'warning' then 2
            when 'watch' then 1 else 0 end >= levels.level_rank) as reported
    from tests
    cross join levels
    group by all

),

latest as (

    select city, series_grain, max(period_start) as latest_period
    from per_period
    group by all

),

by_grain as (

    select
        per_period.city, per_period.series_grain, per_period.level,
        any_value(per_period.alpha) as alpha,
        any_value(per_period.fdr_target) as fdr_target,
        count(*) as periods,
        -- each period's count spread over its own weeks (months and years differ in
        -- length), averaged over the periods
        avg(per_period.tests * per_period.weeks_share) as tests_per_week,
        avg(per_period.reported * per_period.weeks_share) as reported_per_week,
        max(latest.latest_period) as latest_period,
        sum(per_period.tests) filter (where per_period.period_start = latest.latest_period) as tests_latest,
        sum(per_period.reported) filter (where per_period.period_start = latest.latest_period) as reported_latest
    from per_period
    inner join latest using (city, series_grain)
    group by all

),

with_expectations as (

    select
        *,
        fdr_target * reported_per_week as expected_false_per_week,
        alpha * tests_per_week as expected_false_per_week_without_control,
        fdr_target * reported_latest as expected_false_latest
    from by_grain

),

totals as (

    select
        city, 'all' as series_grain, level, any_value(alpha) as alpha,
        any_value(fdr_target) as fdr_target, sum(periods) as periods,
        sum(tests_per_week) as tests_per_week, sum(reported_per_week) as reported_per_week,
        cast(null as date) as latest_period, sum(tests_latest) as tests_latest,
        sum(reported_latest) as reported_latest,
        sum(expected_false_per_week) as expected_false_per_week,
        sum(expected_false_per_week_without_control) as expected_false_per_week_without_control,
        sum(expected_false_latest) as expected_false_latest
    from with_expectations
    group by all

),

unioned as (

    select * from with_expectations
    union all by name
    select * from totals

)

select
    cast(city as varchar) as city,
    cast(series_grain as varchar) as series_grain,
    cast(level as varchar) as level,
    cast(alpha as double) as alpha,
    cast(fdr_target as double) as fdr_target,
    cast(periods as integer) as periods,
    cast(tests_per_week as double) as tests_per_week,
    cast(reported_per_week as double) as reported_per_week,
    cast(expected_false_per_week as double) as expected_false_per_week,
    cast(expected_false_per_week_without_control as double) as expected_false_per_week_without_control,
    cast(latest_period as date) as latest_period,
    cast(tests_latest as integer) as tests_latest,
    cast(reported_latest as integer) as reported_latest,
    cast(expected_false_latest as double) as expected_false_latest
from unioned
