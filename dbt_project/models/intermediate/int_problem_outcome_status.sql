-- Importance inputs per city x outcome indicator, read at the indicator's reference area (the
-- city, or its county when only a county series exists, e.g. Chicago's unemployment) over a
-- reference window: the last 12 months of data for monthly indicators, the latest year for
-- annual ones. Every input comes from the gap and early-warning marts:
--   target_shortfall   mean over targets of 1 - min(1, actual/target) (inverted when lower is
--                      better), on the window means (fct_indicator_gaps, gap_type 'target');
--   peer_shortfall     the same against each peer: other cities (gap_type 'peer_city') and the
--                      mean of the best quartile of the city's own areas ('best_quartile');
--   relative_trend     worsening per year relative to the level: OLS slope ('trend') / value,
--                      else the year-over-year change ('year_over_year') / previous value;
--   active_warning_share  areas with an early warning (level warning or alert) in the last early_warning_active_months
--                      months of data / areas with values in the window;
--   affected_share     population share (area count share when no population) of the
--                      finest sub-city areas whose window mean is short of the target;
--   achievability      share of the gap to target the best peer shows to be closable.
{%- set active_months = "cast(" ~ scoring_parameter('normalization', 'early_warning_active_months') ~ " as integer)" %}
with facts as (

    select * from {{ ref('fct_indicator_values') }}
    where breakdown_type = 'all' and not is_suppressed

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

reference_areas as (

    -- the city's own series, else the county's
    select
        city, indicator_id, area_type, area_id, period_grain,
        max(period_start) as latest_period
    from facts
    where area_type in ('city', 'county')
    group by city, indicator_id, area_type, area_id, period_grain
    qualify row_number() over (
        partition by city, indicator_id
        order by case area_type when 'city' then 0 else 1 end, area_id
    ) = 1

),

windows as (

    select
        *,
        case when period_grain = 'month'
            then cast(latest_period - interval 11 month as date)
            else latest_period
        end as window_start,
        cast(latest_period - to_months({{ active_months }} - 1) as date) as warning_start
    from reference_areas

),

reference_values as (

    select
        windows.city, windows.indicator_id,
        avg(facts.value) as reference_value,
        count(*) as window_periods
    from windows
    inner join facts
        on facts.city = windows.city
        and facts.indicator_id = windows.indicator_id
        and facts.area_type = windows.area_type
        and facts.area_id = windows.area_id
        and facts.period_start between windows.window_start and windows.latest_period
    group by all

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

    select
        targets.city, targets.indicator_id,
        avg({{ problem_shortfall('reference_values.reference_value', 'targets.target_value', 'indicators.polarity') }})
            as target_shortfall,
        avg(targets.target_value) as target_value,
        string_agg(targets.comparison_id, ', ' order by targets.comparison_id) as target_ids
    from targets
    inner join reference_values using (city, indicator_id)
    inner join indicators using (indicator_id)
    group by all

),

peers as (

    -- other cities
    select city, indicator_id, 'peer city ' || comparison_id as peer, avg(comparison_value) as peer_value
    from reference_gaps
    where gap_type = 'peer_city'
    group by all

    union all

    -- the best quartile of the city's own areas (one mean per area type and period)
    select city, indicator_id, 'best quartile of ' || replace(area_type, '_', ' ') || 's' as peer,
        avg(comparison_value) as peer_value
    from (
        select distinct gaps.city, gaps.indicator_id, gaps.area_type, gaps.period_start, gaps.comparison_value
        from gaps
        inner join windows
            on gaps.city = windows.city
            and gaps.indicator_id = windows.indicator_id
            and gaps.period_start between windows.window_start and windows.latest_period
        where gaps.gap_type = 'best_quartile'
    )
    group by all

),

peer_summary as (

    select
        peers.city, peers.indicator_id,
        avg({{ problem_shortfall('reference_values.reference_value', 'peers.peer_value', 'indicators.polarity') }})
            as peer_shortfall,
        -- the best comparison: lowest oriented value
        arg_min(peers.peer_value, indicators.worse_sign * peers.peer_value) as best_peer_value,
        arg_min(peers.peer, indicators.worse_sign * peers.peer_value) as best_peer,
        string_agg(peers.peer, ', ' order by peers.peer) as peers
    from peers
    inner join reference_values using (city, indicator_id)
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

warning_areas as (

    select
        windows.city, windows.indicator_id,
        count(distinct warnings.area_type || ':' || warnings.area_id) as n_areas_warned
    from windows
    inner join {{ ref('fct_early_warnings') }} as warnings
        on warnings.city = windows.city
        and warnings.indicator_id = windows.indicator_id
        and warnings.breakdown_type = 'all'
        -- 'watch' is a heads-up, not an active warning
        and warnings.level in ('warning', 'alert')
        and warnings.indicator_period_start between windows.warning_start and windows.latest_period
    group by all

),

window_areas as (

    select
        windows.city, windows.indicator_id,
        count(distinct facts.area_type || ':' || facts.area_id) as n_areas
    from windows
    inner join facts
        on facts.city = windows.city
        and facts.indicator_id = windows.indicator_id
        and facts.period_start between windows.warning_start and windows.latest_period
    group by all

),

area_shortfalls as (

    -- each area's mean gap to its targets and mean population over the window
    select
        gaps.city, gaps.indicator_id, gaps.area_type, gaps.area_id,
        avg(gaps.gap) as mean_gap,
        avg(facts.denominator) as population
    from gaps
    inner join windows
        on gaps.city = windows.city
        and gaps.indicator_id = windows.indicator_id
        and gaps.period_start between windows.window_start and windows.latest_period
    left join facts
        on facts.city = gaps.city
        and facts.indicator_id = gaps.indicator_id
        and facts.area_type = gaps.area_type
        and facts.area_id = gaps.area_id
        and facts.period_start = gaps.period_start
        and facts.period_grain = gaps.period_grain
    where gaps.gap_type = 'target'
    group by all

),

affected as (

    -- the finest area type with targets: sub-city areas first, else the reference area
    select
        city, indicator_id, area_type as affected_area_type,
        case
            when sum(population) > 0
                then sum(population) filter (where mean_gap > 0) / sum(population)
            else count(*) filter (where mean_gap > 0) / count(*)
        end as affected_share,
        count(*) filter (where mean_gap > 0) as n_areas_short,
        count(*) as n_areas_with_target
    from area_shortfalls
    group by city, indicator_id, area_type
    qualify row_number() over (
        partition by city, indicator_id
        order by case when area_type in ('city', 'county') then 1 else 0 end, count(*) desc
    ) = 1

)

select
    windows.city,
    windows.indicator_id,
    indicators.polarity,
    windows.area_type as reference_area_type,
    windows.area_id as reference_area_id,
    windows.period_grain,
    windows.window_start,
    windows.latest_period,
    reference_values.reference_value,
    target_summary.target_value,
    target_summary.target_ids,
    target_summary.target_shortfall,
    peer_summary.peers,
    peer_summary.best_peer,
    peer_summary.best_peer_value,
    peer_summary.peer_shortfall,
    trend_summary.relative_trend,
    trend_summary.trend_basis,
    trend_summary.trend_is_significant,
    coalesce(warning_areas.n_areas_warned, 0) as n_areas_warned,
    window_areas.n_areas,
    coalesce(warning_areas.n_areas_warned, 0) / window_areas.n_areas as active_warning_share,
    affected.affected_area_type,
    affected.n_areas_short,
    affected.n_areas_with_target,
    affected.affected_share,
    case
        when target_summary.target_value is null then null
        -- target met: nothing left to show achievable
        when indicators.worse_sign * (reference_values.reference_value - target_summary.target_value) <= 0 then 1.0
        when peer_summary.best_peer_value is null then null
        else {{ unit_interval(
            'indicators.worse_sign * (reference_values.reference_value - peer_summary.best_peer_value)'
            ~ ' / (indicators.worse_sign * (reference_values.reference_value - target_summary.target_value))') }}
    end as achievability
from windows
inner join indicators using (indicator_id)
inner join reference_values using (city, indicator_id)
inner join window_areas using (city, indicator_id)
left join target_summary using (city, indicator_id)
left join peer_summary using (city, indicator_id)
left join trend_summary using (city, indicator_id)
left join warning_areas using (city, indicator_id)
left join affected using (city, indicator_id)
