-- Importance inputs per city x outcome indicator, read at the indicator's reference area (the
-- city, or its county when only a county series exists, e.g. Chicago's unemployment) over a
-- reference window: the last 12 months of data for monthly indicators, the latest year for
-- annual ones; with the uncertainty of each input, which int_problem_outcome_draws samples:
--   reference_value    mean value over the window; reference_se_rel its relative standard
--                      error: sqrt(phi / events) for event rates (phi = the family's
--                      dispersion, int_analytic_values), the quasi-binomial se / p for
--                      cohorts, else the series' own period-to-period noise / sqrt(periods)
--   target_shortfall   1 - min(1, actual/target) (inverted when lower is better), on the window
--                      means (target = the mean of the indicator's targets, fct_indicator_gaps
--                      gap_type 'target');
--   peer_shortfall     the same against the mean of the peers: other cities (gap_type
--                      'peer_city') and the best quartile of the city's own areas
--                      ('best_quartile', empirical-Bayes rates for event rates);
--   relative_trend     worsening per year relative to the level: OLS slope ('trend') / value,
--                      else the year-over-year change ('year_over_year') / previous value;
--                      trend_se_rel its standard error on the same scale;
--   warned_population_share  residents living in areas with a reported (false-discovery
--                      controlled) warning or alert in the last early_warning_active_months
--                      months, over the residents of all areas; a citywide flag counts
--                      every resident. Population, not event volume: a large area's many
--                      events do not make it a larger share;
--   affected_share     population share of the sub-city areas whose window rate is worse than
--                      the target (empirical-Bayes rates for event rates); null when the
--                      indicator has no sub-city areas (a county series says nothing about
--                      how many residents are affected);
--   achievability      1 when the target is met; else the share of the gap to target the best
--                      peer city shows to be closable; null without a peer city. Not from the
--                      city's own best quartile (which is always "achievable" by construction).
with facts as (

    select * from {{ ref('int_analytic_values') }}
    where breakdown_type = 'all'

),

gaps as (

    select * from {{ ref('fct_indicator_gaps') }}
    where breakdown_type = 'all'

),

indicators as (

    select
        indicator_id,
        polarity,
        case polarity when 'lower_is_better' then 1 else -1 end as worse_sign
    from {{ ref('dim_indicators') }}

),

windows as (

    select * from {{ ref('int_problem_windows') }}

),

local_noise as (

    -- each period against the mean of its neighbours: the series' own period-to-period noise
    select
        city, indicator_id, area_type, area_id,
        sqrt(avg(pow(value - (lag_value + lead_value) / 2, 2)) / 1.5) as local_sd
    from (
        select
            *,
            lag(value) over series_order as lag_value,
            lead(value) over series_order as lead_value
        from facts
        window series_order as (
            partition by city, area_type, area_id, indicator_id, period_grain order by period_start
        )
    ) as neighbours
    group by all

),

reference_values as (

    select
        windows.city, windows.indicator_id,
        avg(facts.value) as reference_value,
        count(*) as window_periods,
        sum(facts.numerator) as window_events,
        sum(facts.denominator) as window_exposure,
        any_value(facts.value_kind) as value_kind,
        any_value(facts.value_scale) as value_scale,
        any_value(facts.dispersion) as dispersion
    from windows
    inner join facts
        on facts.city = windows.city
        and facts.indicator_id = windows.indicator_id
        and facts.area_type = windows.area_type
        and facts.area_id = windows.area_id
        and facts.period_start between windows.window_start and windows.latest_period
    group by all

),

uncertainty as (

    select
        reference_values.*,
        case
            when value_kind = 'event_rate' and window_events > 0
                then sqrt(dispersion / window_events)
            when value_kind = 'proportion' and window_exposure > 0 and reference_value > 0
                then sqrt(dispersion * (reference_value / value_scale) * (1 - reference_value / value_scale)
                    / window_exposure) / (reference_value / value_scale)
            when abs(reference_value) > 0
                then local_noise.local_sd / sqrt(window_periods) / abs(reference_value)
        end as reference_se_rel
    from reference_values
    inner join windows using (city, indicator_id)
    left join local_noise
        on local_noise.city = windows.city
        and local_noise.indicator_id = windows.indicator_id
        and local_noise.area_type = windows.area_type
        and local_noise.area_id = windows.area_id

),

reference_gaps as (

    -- gap rows of the reference area in the window
    select gaps.*
    from gaps
    inner join windows
        on gaps.city = windows.city
        and gaps.indicator_id = windows.indicator_id
        and gaps.area_type = windows.area_type
        and gaps.area_id = windows.area_id
        and gaps.period_start between windows.window_start and windows.latest_period

),

targets as (

    select city, indicator_id, comparison_id, avg(comparison_value) as target_value
    from reference_gaps
    where gap_type = 'target'
    group by all

),

target_summary as (

    -- the shortfall to the mean of the indicator's targets (the same form as the draws)
    select
        targets.city, targets.indicator_id,
        avg(targets.target_value) as target_value,
        string_agg(targets.comparison_id, ', ' order by targets.comparison_id) as target_ids
    from targets
    group by all

),

peers as (

    -- other cities
    select city, indicator_id, 'peer city ' || comparison_id as peer, true as is_peer_city,
        avg(comparison_value) as peer_value
    from reference_gaps
    where gap_type = 'peer_city'
    group by all

    union all

    -- the best quartile of the city's own areas (one mean per area type and period)
    select city, indicator_id, 'best quartile of ' || replace(area_type, '_', ' ') || 's' as peer,
        false as is_peer_city, avg(comparison_value) as peer_value
    from (
        select distinct gaps.city, gaps.indicator_id, gaps.area_type, gaps.period_start, gaps.comparison_value
        from gaps
        inner join windows
            on gaps.city = windows.city
            and gaps.indicator_id = windows.indicator_id
            and gaps.period_start between windows.window_start and windows.latest_period
        where gaps.gap_type = 'best_quartile'
    ) as best_quartile
    group by all

),

peer_summary as (

    select
        peers.city, peers.indicator_id,
        avg(peers.peer_value) as peer_value,
        -- the best other city: lowest oriented value
        arg_min(peers.peer_value, indicators.worse_sign * peers.peer_value)
            filter (where peers.is_peer_city) as best_peer_city_value,
        arg_min(peers.peer, indicators.worse_sign * peers.peer_value)
            filter (where peers.is_peer_city) as best_peer_city,
        string_agg(peers.peer, ', ' order by peers.peer) as peers
    from peers
    inner join indicators using (indicator_id)
    group by all

),

trend_summary as (

    select
        city, indicator_id,
        coalesce(
            avg(gap) filter (where gap_type = 'trend') / nullif(abs(avg(value) filter (where gap_type = 'trend')), 0),
            avg(gap) filter (where gap_type = 'year_over_year')
                / nullif(abs(avg(comparison_value) filter (where gap_type = 'year_over_year')), 0)
        ) as relative_trend,
        coalesce(
            avg(standard_error) filter (where gap_type = 'trend')
                / nullif(abs(avg(value) filter (where gap_type = 'trend')), 0),
            avg(abs(standard_error)) filter (where gap_type = 'year_over_year')
                / nullif(abs(avg(comparison_value) filter (where gap_type = 'year_over_year')), 0)
        ) as trend_se_rel,
        case
            when count(*) filter (where gap_type = 'trend') > 0 then 'trend'
            when count(*) filter (where gap_type = 'year_over_year') > 0 then 'year_over_year'
        end as trend_basis,
        coalesce(bool_or(is_significant) filter (where gap_type = 'trend'),
            bool_or(is_significant) filter (where gap_type = 'year_over_year')) as trend_is_significant
    from reference_gaps
    where gap_type in ('trend', 'year_over_year')
    group by all

),

area_populations as (

    -- residents (the rate's denominator) of every area of the indicator, latest in the window
    select
        windows.city, windows.indicator_id, facts.area_type, facts.area_id,
        arg_max(facts.denominator, facts.period_start) as population
    from windows
    inner join facts
        on facts.city = windows.city
        and facts.indicator_id = windows.indicator_id
        and facts.period_start between windows.warning_start and windows.latest_period
    where facts.denominator > 0
    group by all

),

warned as (

    select distinct
        windows.city, windows.indicator_id, warnings.area_type, warnings.area_id
    from windows
    inner join {{ ref('fct_early_warnings') }} as warnings
        on warnings.city = windows.city
        and warnings.indicator_id = windows.indicator_id
        and warnings.breakdown_type = 'all'
        -- 'watch' is a heads-up, not an active warning; levels are after false-discovery control
        and warnings.level in ('warning', 'alert')
        and warnings.indicator_period_start between windows.warning_start and windows.latest_period

),

warning_summary as (

    -- residents in warned areas over the residents of the finest area type; a citywide
    -- (or county) flag covers everyone
    select
        area_populations.city, area_populations.indicator_id,
        count(distinct warned.area_type || ':' || warned.area_id) as n_areas_warned,
        count(distinct area_populations.area_type || ':' || area_populations.area_id)
            filter (where area_populations.area_type not in ('city', 'county')) as n_areas,
        case
            when bool_or(warned.area_type in ('city', 'county')) then 1.0
            when sum(area_populations.population)
                filter (where area_populations.area_type not in ('city', 'county')) > 0
                then coalesce(sum(area_populations.population) filter (
                        where warned.area_id is not null and area_populations.area_type not in ('city', 'county')), 0)
                    / sum(area_populations.population)
                        filter (where area_populations.area_type not in ('city', 'county'))
            else 0.0
        end as warned_population_share
    from area_populations
    left join warned using (city, indicator_id, area_type, area_id)
    group by all

),

area_status as (

    select * from {{ ref('int_problem_area_status') }}

),

affected as (

    -- the finest sub-city area type with targets
    select
        city, indicator_id, area_type as affected_area_type,
        case
            when sum(population) > 0
                then sum(population) filter (where is_short) / sum(population)
            else count(*) filter (where is_short) / count(*)
        end as affected_share,
        count(*) filter (where is_short) as n_areas_short,
        count(*) as n_areas_with_target
    from area_status
    group by city, indicator_id, area_type
    qualify row_number() over (partition by city, indicator_id order by count(*) desc, area_type) = 1

)

select
    windows.city,
    windows.indicator_id,
    indicators.polarity,
    indicators.worse_sign,
    windows.area_type as reference_area_type,
    windows.area_id as reference_area_id,
    windows.period_grain,
    windows.window_start,
    windows.latest_period,
    uncertainty.reference_value,
    uncertainty.reference_se_rel,
    uncertainty.window_events,
    target_summary.target_value,
    target_summary.target_ids,
    {{ problem_shortfall('uncertainty.reference_value', 'target_summary.target_value', 'indicators.polarity') }}
        as target_shortfall,
    peer_summary.peers,
    peer_summary.peer_value,
    peer_summary.best_peer_city,
    peer_summary.best_peer_city_value,
    {{ problem_shortfall('uncertainty.reference_value', 'peer_summary.peer_value', 'indicators.polarity') }}
        as peer_shortfall,
    trend_summary.relative_trend,
    trend_summary.trend_se_rel,
    trend_summary.trend_basis,
    trend_summary.trend_is_significant,
    coalesce(warning_summary.n_areas_warned, 0) as n_areas_warned,
    warning_summary.n_areas,
    coalesce(warning_summary.warned_population_share, 0) as warned_population_share,
    affected.affected_area_type,
    affected.n_areas_short,
    affected.n_areas_with_target,
    affected.affected_share,
    case
        when target_summary.target_value is null then null
        -- target met: nothing left to show achievable
        when indicators.worse_sign * (uncertainty.reference_value - target_summary.target_value) <= 0 then 1.0
        when peer_summary.best_peer_city_value is null then null
        else {{ unit_interval(
            'indicators.worse_sign * (uncertainty.reference_value - peer_summary.best_peer_city_value)'
            ~ ' / (indicators.worse_sign * (uncertainty.reference_value - target_summary.target_value))') }}
    end as achievability
from windows
inner join indicators using (indicator_id)
inner join uncertainty using (city, indicator_id)
left join target_summary using (city, indicator_id)
left join peer_summary using (city, indicator_id)
left join trend_summary using (city, indicator_id)
left join warning_summary using (city, indicator_id)
left join affected using (city, indicator_id)
