-- What each local intervention did to the outcomes it aims at, by the city's own data: one
-- row per city, local intervention and outcome indicator, with the design, the windows, the
-- estimated change and its interval, the design check and an honest verdict in words.
--
-- Verdicts: 'too early / not enough data' (no number: the reason says what is missing),
-- 'no change detected' (the interval includes no change, or, for a time series, the change is
-- within the series' usual swings at earlier placebo starts), 'improved' / 'worsened' (the
-- interval excludes no change, in the indicator's better / worse direction). A verdict is
-- about the design, never more: design_note says what the design can and cannot show.
{%- set level = intervention_setting('intervention_interval_level') %}
{%- set alpha = 1 - level %}
with readiness as (

    select * from {{ ref('int_intervention_readiness') }}

),

interventions as (

    select * from {{ ref('stg_registry__local_interventions') }}

),

indicators as (

    select indicator_id, name as indicator_name, polarity, unit
    from {{ ref('indicator_catalog') }}

),

cities as (

    select city, city_name from {{ ref('stg_cities') }}

),

did as (

    select * from {{ ref('int_intervention_did') }}

),

its as (

    select * from {{ ref('int_intervention_its') }}

),

estimates as (

    select
        readiness.*,
        interventions.local_intervention_name as intervention_name,
        interventions.where_text,
        interventions.led_by,
        interventions.lead_sector,
        indicators.indicator_name,
        indicators.polarity,
        coalesce(cities.city_name, readiness.city) as city_name,
        coalesce(did.log_ratio, its.log_ratio) as log_ratio,
        coalesce(did.log_ratio_lower, its.log_ratio_lower) as log_ratio_lower,
        coalesce(did.log_ratio_upper, its.log_ratio_upper) as log_ratio_upper,
        did.dispersion as did_dispersion,
        did.heterogeneity_variance,
        did.pre_trend_log_ratio,
        did.pre_trend_log_ratio_lower,
        did.pre_trend_log_ratio_upper,
        its.dispersion as its_dispersion,
        its.pre_fit_mean_abs_pct_error,
        its.pre_trend_per_year,
        its.n_placebo_dates,
        its.placebo_p_value,
        its.fit_error
    from readiness
    inner join interventions using (city, local_intervention_id)
    left join indicators using (indicator_id)
    left join cities using (city)
    left join did using (city, local_intervention_id, indicator_id)
    left join its using (city, local_intervention_id, indicator_id)

),

judged as (

    select
        *,
        case
            when design = 'difference_in_differences' and pre_trend_log_ratio is not null
                then not (pre_trend_log_ratio_lower > 0 or pre_trend_log_ratio_upper < 0)
            -- the change stands out from the changes at earlier placebo starts
            when design = 'interrupted_time_series' and placebo_p_value is not null
                then placebo_p_value < {{ alpha }}
        end as design_check_passed,
        log_ratio is not null and (log_ratio_lower > 0 or log_ratio_upper < 0) as interval_excludes_no_change,
        -- a time series needs enough history before the start to compare its change with the
        -- series' usual swings (placebo starts): uncalibrated, it finds a change at about a
        -- third of start dates with none on real city series (ANALYTICS.md)
        design = 'interrupted_time_series' and log_ratio is not null
            and coalesce(n_placebo_dates, 0) < {{ intervention_setting('intervention_min_placebo_dates') }}
            as is_history_short,
        case
            when not is_ready or log_ratio is null or is_history_short then 'too early / not enough data'
            when not (log_ratio_lower > 0 or log_ratio_upper < 0) then 'no change detected'
            -- a time series' change no larger than at earlier placebo starts is no change
            when design = 'interrupted_time_series' and placebo_p_value >= {{ alpha }} then 'no change detected'
            when (log_ratio < 0) = (polarity = 'lower_is_better') then 'improved'
            else 'worsened'
        end as verdict
    from estimates

)

select
    city,
    problem_id,
    local_intervention_id,
    intervention_name,
    intervention_id,
    indicator_id,
    indicator_name,
    polarity,
    design,
    period_grain,
    series_area_type as area_type,
    n_listed_areas as n_treated_areas,
    case when design = 'difference_in_differences' then n_comparison_areas end as n_comparison_areas,
    start_month,
    start_precision,
    end_month,
    pre_first_period,
    pre_last_period,
    post_first_period,
    post_last_period,
    n_pre_periods,
    n_post_periods,
    focal_events_pre as events_before,
    focal_events_post as events_after,
    comparison_events_pre as comparison_events_before,
    comparison_events_post as comparison_events_after,
    {{ level }} as interval_level,
    case when verdict <> 'too early / not enough data' then 100 * (exp(log_ratio) - 1) end as change_pct,
    case when verdict <> 'too early / not enough data' then 100 * (exp(log_ratio_lower) - 1) end as change_lower_pct,
    case when verdict <> 'too early / not enough data' then 100 * (exp(log_ratio_upper) - 1) end as change_upper_pct,
    coalesce(did_dispersion, its_dispersion) as dispersion,
    heterogeneity_variance,
    case design
        when 'difference_in_differences' then 'parallel_trends'
        when 'interrupted_time_series' then 'placebo_starts'
    end as design_check,
    case when verdict <> 'too early / not enough data' then design_check_passed end as design_check_passed,
    case when pre_trend_log_ratio is not null then 100 * (exp(pre_trend_log_ratio) - 1) end as pre_trend_change_pct,
    case when pre_trend_log_ratio is not null then 100 * (exp(pre_trend_log_ratio_lower) - 1) end
        as pre_trend_lower_pct,
    case when pre_trend_log_ratio is not null then 100 * (exp(pre_trend_log_ratio_upper) - 1) end
        as pre_trend_upper_pct,
    case when pre_fit_mean_abs_pct_error is not null then 100 * pre_fit_mean_abs_pct_error end as pre_fit_error_pct,
    n_placebo_dates,
    placebo_p_value,
    verdict,
    coalesce(
        not_ready_reason,
        case when fit_error is not null then 'fit_failed' when is_history_short then 'short_history' end
    ) as verdict_reason,
    -- the verdict in words
    case
        when not_ready_reason = 'areas_not_listed' then
            'Too early / not enough data: the registry does not list the ' || replace(series_area_type, '_', ' ')
            || 's it covers, so its outcome cannot be compared with other areas.'
        when not_ready_reason = 'no_series' then
            'Too early / not enough data: the warehouse has no ' || coalesce(indicator_name, indicator_id)
            || ' series for '
            || case when series_area_type = 'city' then 'the city' else replace(series_area_type, '_', ' ') || 's' end
            || ' of ' || city_name || '.'
        when not_ready_reason = 'no_counts' then
            'Too early / not enough data: ' || coalesce(indicator_name, indicator_id)
            || ' is not a count of events; these designs model event counts.'
        when not_ready_reason = 'short_before' and data_first_period > pre_last_period then
            'Too early / not enough data: the warehouse''s series starts in ' || strftime(data_first_period, '%Y-%m')
            || ', after the effort began (' || strftime(start_month, '%Y-%m')
            || '), so there is no before to compare with.'
        when not_ready_reason = 'short_before' then
            'Too early / not enough data: only ' || n_pre_periods || ' ' || period_grain
            || 's of data before the start ('
            || min_pre_periods || ' needed).'
        when not_ready_reason = 'short_after' and data_last_period < post_first_period then
            'Too early / not enough data: the latest data (' || strftime(data_last_period, '%Y-%m')
            || ') end before the after window begins (' || strftime(post_first_period, '%Y-%m') || ').'
        when not_ready_reason = 'short_after' then
            'Too early / not enough data: only ' || n_post_periods || ' ' || period_grain
            || 's of data after the start ('
            || min_post_periods || ' needed).'
        when not_ready_reason = 'few_comparison_areas' then
            'Too early / not enough data: only ' || n_comparison_areas || ' comparison areas have data ('
            || {{ intervention_setting('intervention_min_comparison_areas') }} || ' needed).'
        when not_ready_reason = 'few_events' then
            'Too early / not enough data: fewer than ' || {{ intervention_setting('intervention_min_events') }}
            || ' events before or after the start in the areas it covers.'
        when fit_error is not null then 'Too early / not enough data: ' || fit_error || '.'
        when is_history_short then
            'Too early / not enough data: the city''s series before the start is too short to tell a change '
            || 'from its usual swings (' || coalesce(n_placebo_dates, 0) || ' earlier placebo starts, '
            || {{ intervention_setting('intervention_min_placebo_dates') }} || ' needed).'
        else
            intervention_name || ': ' || lower(coalesce(indicator_name, indicator_id))
            || case design
                when 'difference_in_differences' then ' in the ' || n_listed_areas || ' treated '
                    || replace(series_area_type, '_', ' ') || case when n_listed_areas > 1 then 's' else '' end
                    || ' changed by ' || printf('%+.0f%%', 100 * (exp(log_ratio) - 1))
                    || ' relative to ' || n_comparison_areas || ' comparison areas'
                else ' in the city changed by ' || printf('%+.0f%%', 100 * (exp(log_ratio) - 1))
                    || ' against its own trend and seasons'
            end
            || ' (' || cast(round(100 * {{ level }}) as integer) || '% interval '
            || printf('%+.0f%%', 100 * (exp(log_ratio_lower) - 1)) || ' to '
            || printf('%+.0f%%', 100 * (exp(log_ratio_upper) - 1)) || '), '
            || strftime(post_first_period, '%Y-%m') || ' to ' || strftime(post_last_period, '%Y-%m')
            || ' against ' || strftime(pre_first_period, '%Y-%m') || ' to ' || strftime(pre_last_period, '%Y-%m')
            || ': ' || verdict || '.'
            || case
                when design = 'interrupted_time_series' and interval_excludes_no_change
                    and placebo_p_value >= {{ alpha }}
                    then ' A change this large happened at ' || cast(round(100 * placebo_p_value) as integer)
                        || '% of ' || n_placebo_dates
                        || ' earlier placebo starts, so it is within the series'' usual swings.'
                when design = 'difference_in_differences' and design_check_passed = false
                    then ' But before the start the treated areas already drifted by '
                        || printf('%+.0f%%', 100 * (exp(pre_trend_log_ratio) - 1))
                        || ' against the comparison areas, so the estimate may carry that drift.'
                else ''
            end
    end as verdict_sentence,
    case design
        when 'difference_in_differences' then
            'A difference in differences compares the change in the treated areas with the change in the comparison '
            || 'areas over the same periods, so citywide shifts cancel out. It assumes the areas would otherwise have '
            || 'moved in parallel (checked on the two halves of the before window) and allows for areas'' trends '
            || 'differing as much as the comparison areas'' do. It cannot rule out other changes that hit only the '
            || 'treated areas, or effects spilling over to neighbours, and it says nothing about individuals.'
        when 'interrupted_time_series' then
            'An interrupted time series compares the city''s series after the start with its own trend and seasons '
            || 'before. It shows whether the level changed when the effort began; it cannot separate the effort from '
            || 'anything else that changed citywide at the same time (other programmes, policing, the economy, a '
            || 'pandemic), which is why the change is also compared with earlier placebo starts.'
        else 'Not evaluated on area series: the registry does not say which areas it covers.'
    end as design_note,
    led_by,
    lead_sector,
    where_text
from judged
