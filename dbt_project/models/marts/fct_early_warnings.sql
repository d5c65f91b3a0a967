-- Early warnings: one row per reported flag, i.e. a period of a watched series whose chosen
-- detector (count scan on days, seasonal GLM on months with three years of history, count
-- scan before that, change tests on years: int_early_warning_tests) is unusual for the series
-- AND survives Benjamini-Hochberg false-discovery control across the city's areas that period
-- (int_early_warning_fdr). Levels: watch / warning / alert (per-test rate 2.5 / 0.5 / 0.1 %,
-- false-discovery target 10 / 5 / 1 %).
-- Each row says where (area), what (indicator, method), when (period_start, the window of
-- window_periods periods ending there, and run_start_period = first period of the run of
-- consecutive reported periods of the same series), how large (observed, expected, excess,
-- excess_ratio) and how sure (p_value, q_value, statistic, level), plus a sentence.
-- indicator_period_start / indicator_period_grain key every row to fct_indicator_values.
with tests as (

    select * from {{ ref('int_early_warning_fdr') }}

),

runs as (

    -- a run = consecutive reported periods of one series: every unreported period starts a
    -- new group, so the reported periods after it share its group number
    select
        *,
        sum(case when level is null then 1 else 0 end) over (
            partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
                series_grain
            order by period_start
            rows between unbounded preceding and current row
        ) as run_group
    from tests

),

flagged as (

    select
        *,
        min(period_start) over run as run_start_period,
        row_number() over (run order by period_start) as run_position
    from runs
    where level is not null
    window run as (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
            series_grain, run_group
    )

),

described as (

    select
        *,
        observed - expected as excess,
        case when expected > 0 then observed / expected end as excess_ratio,
        case
            when series_grain = 'day' and window_periods > 1
                then 'in the ' || window_periods || ' days to ' || strftime(period_start, '%-d %b %Y')
            when series_grain = 'day' then 'on ' || strftime(period_start, '%-d %b %Y')
            when series_grain = 'week' and window_periods > 1
                then 'in the ' || window_periods || ' weeks to the week of ' || strftime(period_start, '%-d %b %Y')
            when series_grain = 'week' then 'in the week of ' || strftime(period_start, '%-d %b %Y')
            when series_grain = 'month' and window_periods > 1
                then 'in the ' || window_periods || ' months to ' || strftime(period_start, '%b %Y')
            when series_grain = 'month' then 'in ' || strftime(period_start, '%b %Y')
            else 'in ' || strftime(period_start, '%Y')
        end as period_text,
        case method
            when 'count_scan' then 'count against its recent baseline'
            when 'seasonal_glm' then 'against the same season of earlier years'
            when 'binomial_change' then 'change beyond the cohort''s sampling noise'
            when 'count_change' then 'change beyond the usual year-to-year noise'
            when 'historical_change' then 'change beyond the usual year-to-year movement'
        end as method_label,
        case
            when measure = 'count' then printf('%,.0f', observed)
            else printf('%.1f', observed)
        end as observed_text,
        case
            when measure = 'count' and expected >= 10 then printf('%,.0f', expected)
            else printf('%.1f', expected)
        end as expected_text,
        case
            when measure = 'count' and abs(observed - expected) >= 10 then printf('%,.0f', abs(observed - expected))
            else printf('%.1f', abs(observed - expected))
        end as excess_text
    from flagged

)

select
    cast(md5(concat_ws('|', city, area_type, area_id, indicator_id, breakdown_type,
        breakdown_value, series_grain, cast(period_start as varchar), method)) as varchar) as alert_id,
    cast(city as varchar) as city,
    cast(area_type as varchar) as area_type,
    cast(area_id as varchar) as area_id,
    cast(area_name as varchar) as area_name,
    cast(indicator_id as varchar) as indicator_id,
    cast(indicator_name as varchar) as indicator_name,
    cast(breakdown_type as varchar) as breakdown_type,
    cast(breakdown_value as varchar) as breakdown_value,
    cast(series_grain as varchar) as series_grain,
    cast(period_start as date) as period_start,
    cast(coalesce(window_periods, 1) as integer) as window_periods,
    cast(indicator_period_start as date) as indicator_period_start,
    cast(indicator_period_grain as varchar) as indicator_period_grain,
    cast(method as varchar) as method,
    cast(measure as varchar) as measure,
    cast(level as varchar) as level,
    cast(test_level as varchar) as test_level,
    cast(observed as double) as observed,
    cast(expected as double) as expected,
    cast(excess as double) as excess,
    cast(excess_ratio as double) as excess_ratio,
    cast(statistic as double) as statistic,
    cast(p_value as double) as p_value,
    cast(q_value as double) as q_value,
    cast(family_tests as integer) as family_tests,
    cast(run_start_period as date) as run_start_period,
    cast(run_position as integer) as run_position,
    cast(
        series_label || ' in ' || area_name || ' '
        || case when observed >= expected then 'rose to ' else 'fell to ' end
        || observed_text
        || case when measure = 'count' then ' ' || coalesce(count_noun, '') else '' end
        || ' ' || period_text || ', '
        || excess_text || case when observed >= expected then ' above ' else ' below ' end
        || case when measure = 'count' then 'the expected ' else 'the previous year''s ' end
        || expected_text
        || case when run_position > 1
            then ', flagged since ' || case series_grain
                when 'day' then strftime(run_start_period, '%-d %b %Y')
                when 'week' then strftime(run_start_period, '%-d %b %Y')
                when 'month' then strftime(run_start_period, '%b %Y')
                else strftime(run_start_period, '%Y') end
            else '' end
        || ' (' || method_label || ', ' || level || '; p = ' || printf('%.2g', p_value)
        || ', one of ' || family_tests || ' tests in the city that '
        || case series_grain when 'day' then 'day' when 'week' then 'week' when 'month' then 'month' else 'year' end
        || ').'
    as varchar) as message
from described
