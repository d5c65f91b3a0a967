-- Early warnings: one row per flagged period x series x method, from three detectors
--   EARS C1/C2/C3 on count series (int_early_warning_ears; methods per grain from vars
--   ew_<grain>_methods), the seasonal Poisson Z on monthly counts
--   (int_early_warning_seasonal) and year-to-year declines of annual rates
--   (int_early_warning_annual).
-- Each row says where (area), what (indicator, method), when (period_start, and
-- run_start_period = first period of the run of consecutive flagged periods of the same
-- series and method), how large (observed, expected, excess = observed - expected,
-- excess_ratio = observed / expected) and how sure (statistic, level), plus a sentence.
-- indicator_period_start / indicator_period_grain key every row to fct_indicator_values.
{%- set grains = analytics_setting('ew_count_grains') %}
with ears as (

    select * from {{ ref('int_early_warning_ears') }}

),

detections as (

    {% for grain in grains %}
    {% for method in analytics_setting('ew_' ~ grain ~ '_methods') %}
    select
        city, area_type, area_id, area_name, indicator_id, indicator_name, breakdown_type,
        breakdown_value, series_grain, period_start, indicator_period_start,
        indicator_period_grain, worse_sign, series_label, count_noun,
        '{{ 'ears_' ~ method }}' as method,
        'count' as measure,
        observed,
        {{ 'c1_mean' if method == 'c1' else 'c2_mean' }} as expected,
        {{ method }}_stat as statistic,
        baseline_periods,
        {{ method }}_level as level
    from ears
    where series_grain = '{{ grain }}'
      and {{ method }}_stat is not null

    union all
    {% endfor %}
    {% endfor %}

    select
        city, area_type, area_id, area_name, indicator_id, indicator_name, breakdown_type,
        breakdown_value, series_grain, period_start, indicator_period_start,
        indicator_period_grain, worse_sign, series_label, count_noun,
        'seasonal_poisson_z' as method,
        'count' as measure,
        observed, expected, poisson_z as statistic, baseline_periods, level
    from {{ ref('int_early_warning_seasonal') }}

    union all

    select
        city, area_type, area_id, area_name, indicator_id, indicator_name, breakdown_type,
        breakdown_value,
        'year' as series_grain,
        period_start,
        period_start as indicator_period_start,
        period_grain as indicator_period_grain,
        worse_sign, series_label, count_noun,
        method,
        'value' as measure,
        value as observed,
        previous_value as expected,
        statistic,
        cast(history_n as integer) as baseline_periods,
        level
    from {{ ref('int_early_warning_annual') }}

),

runs as (

    -- a run = consecutive flagged periods of one series and method: every unflagged period
    -- starts a new group, so the flagged periods after it share its group number
    select
        *,
        sum(case when level is null then 1 else 0 end) over (
            partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
                series_grain, method
            order by period_start
            rows between unbounded preceding and current row
        ) as run_group
    from detections

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
            series_grain, method, run_group
    )

),

described as (

    select
        *,
        observed - expected as excess,
        case when expected > 0 then observed / expected end as excess_ratio,
        case series_grain
            when 'day' then 'on ' || strftime(period_start, '%-d %b %Y')
            when 'week' then 'in the week of ' || strftime(period_start, '%-d %b %Y')
            when 'month' then 'in ' || strftime(period_start, '%b %Y')
            else 'in ' || strftime(period_start, '%Y')
        end as period_text,
        case method
            when 'ears_c1' then 'EARS C1'
            when 'ears_c2' then 'EARS C2'
            when 'ears_c3' then 'EARS C3'
            when 'seasonal_poisson_z' then 'same month in earlier years, Poisson Z'
            when 'binomial_change' then 'change beyond the binomial sampling error'
            when 'poisson_change' then 'change beyond Poisson noise'
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
    cast(indicator_period_start as date) as indicator_period_start,
    cast(indicator_period_grain as varchar) as indicator_period_grain,
    cast(method as varchar) as method,
    cast(measure as varchar) as measure,
    cast(level as varchar) as level,
    cast(observed as double) as observed,
    cast(expected as double) as expected,
    cast(excess as double) as excess,
    cast(excess_ratio as double) as excess_ratio,
    cast(statistic as double) as statistic,
    cast(baseline_periods as integer) as baseline_periods,
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
        || ' (' || method_label || ', ' || level || ').'
    as varchar) as message
from described
