-- The early-warning board: one row per watched series (city x area x indicator x breakdown x
-- series grain) flagged at the end of its data, with its strongest run, in plain words.
--
-- "At the end of its data" = a flag in the latest period the indicator has in the city
-- (daily series: its latest month; monthly: its last 3 months; annual: its latest year).
-- Whether that is still *now* is judged against the as-of date (the day of the run): a flag
-- is current while its period ended less than alert_windows.current_for_days ago; older
-- flags are shown as past, with their date, never as "now".
with warnings as (

    select * from {{ ref('fct_early_warnings') }}

),

latest as (

    select city, indicator_id, max(period_start) as latest_period
    from {{ ref('fct_indicator_values') }}
    group by city, indicator_id

),

at_end_of_data as (

    select warnings.*
    from warnings
    inner join latest using (city, indicator_id)
    where case
        when warnings.series_grain in ('day', 'week')
            then warnings.indicator_period_start >= latest.latest_period
        when warnings.series_grain = 'month'
            then warnings.indicator_period_start >= latest.latest_period - interval 2 month
        else warnings.indicator_period_start >= latest.latest_period
    end

),

-- each run described by its latest flagged period; the strongest run per series
runs as (

    select *
    from at_end_of_data
    qualify row_number() over (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
            series_grain, method, run_start_period
        order by period_start desc
    ) = 1

),

levels as (

    select * from {{ ref('alert_levels') }}

),

strongest as (

    select runs.*, levels.level_order, levels.level_label, levels.how_sure
    from runs
    inner join levels using (level)
    qualify row_number() over (
        partition by runs.city, runs.area_type, runs.area_id, runs.indicator_id,
            runs.breakdown_type, runs.breakdown_value, runs.series_grain
        order by levels.level_order asc, runs.statistic desc, runs.alert_id asc
    ) = 1

),

described as (

    select
        strongest.*,
        indicators.unit,
        coalesce(statistics.series_label, indicators.name) as series_label,
        coalesce(statistics.count_noun, 'events') as count_noun,
        coalesce(methods.plain_name, replace(strongest.method, '_', ' ')) as method_name,
        units.unit_label
            || case when units.is_per_period then ' per ' || strongest.indicator_period_grain else '' end
            as unit_label,
        methods.how_it_works as method_how,
        windows.current_for_days,
        {{ period_end('strongest.period_start', 'strongest.series_grain') }} as period_end,
        {{ dashboards_as_of() }} as as_of_date
    from strongest
    inner join {{ ref('dim_indicators') }} as indicators using (indicator_id)
    left join {{ ref('indicator_statistics') }} as statistics using (indicator_id)
    left join {{ ref('alert_methods') }} as methods using (method)
    left join {{ ref('alert_windows') }} as windows using (series_grain)
    left join {{ ref('unit_labels') }} as units on units.unit = indicators.unit

),

worded as (

    select
        *,
        coalesce(period_end + to_days(current_for_days) > as_of_date, false) as is_current,
        {{ period_label('period_start', 'series_grain') }} as period_label,
        {{ period_label('run_start_period', 'series_grain') }} as since_label,
        case when observed >= expected then 'rose' else 'fell' end as direction,
        case
            when measure = 'count' then printf('%,.0f', observed) || ' ' || count_noun
            when unit = 'percent' then printf('%.1f', observed) || ' %'
            else printf('%,.1f', observed) || coalesce(' ' || unit_label, '')
        end as observed_text,
        case
            when measure = 'count' and expected >= 10 then printf('%,.0f', expected)
            when measure = 'count' then printf('%.1f', expected)
            when unit = 'percent' then printf('%.1f', expected) || ' %'
            else printf('%,.1f', expected)
        end as expected_text
    from described

)

select
    alert_id,
    city,
    area_type,
    area_id,
    area_name,
    indicator_id,
    indicator_name,
    series_label,
    breakdown_type,
    breakdown_value,
    series_grain,
    case series_grain
        when 'day' then 'daily' when 'week' then 'weekly' when 'month' then 'monthly'
        else 'yearly'
    end as series_label_grain,
    indicator_period_start,
    indicator_period_grain,
    period_start as latest_flagged_period,
    period_label,
    run_start_period as flagged_since,
    since_label,
    run_position as periods_flagged,
    method,
    method_name,
    method_how,
    measure,
    level,
    level_order,
    level_label,
    how_sure,
    observed,
    expected,
    excess,
    excess_ratio,
    direction,
    as_of_date,
    is_current,
    case
        when is_current then 'Now'
        else 'Past: ' || period_label || ', ' || {{ age_label('period_end', 'as_of_date') }} || ' ago'
    end as status_label,
    series_label || ' ' || direction || ' in ' || area_name || ': ' || observed_text || ' '
        || case series_grain when 'day' then 'on ' else 'in ' end || period_label
        || case
            when measure = 'count' then ', against about ' || expected_text || ' expected'
            else ', from ' || expected_text || ' the year before'
        end
        || case when run_position > 1 then ' (flagged since ' || since_label || ')' else '' end
        || '.' as headline
from worded
