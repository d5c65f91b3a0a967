-- Gap to peers, two kinds:
--   peer_city:     a city's value against each other city in the warehouse with the same
--                  indicator and breakdown, each at its reference area: the city's own
--                  series (area_type 'city'), else the county series standing in for it
--                  (e.g. an unemployment rate published for the county only), for the same
--                  period, or - for per-capita flows - for the peer's year containing the
--                  city's month, then both annualised (value_annualised: per resident per
--                  year), so a month is never compared with a year in different units.
--                  value / comparison_value are annualised in that case (value_basis
--                  'annualised'). With one city loaded there are simply no rows;
--                  marts.fct_peer_comparability says which cities are comparable on what.
--   best_quartile: an area's value against the mean of the best quartile of the areas of
--                  the same type in its city and period (what is demonstrably achievable
--                  there). Needs at least 4 areas. Areas are ranked best first by polarity;
--                  the quartile mean is unweighted. Event rates are compared on their
--                  empirical-Bayes rates (int_small_area_rates: a small area's raw rate on a
--                  handful of events is mostly noise); value_basis says which.
-- gap = worse_sign * (value - comparison_value): positive = worse than the peer.
with values_ as (

    select
        values_.*,
        coalesce(small.eb_value, values_.value) as compared_value,
        case when small.eb_value is not null then 'empirical_bayes' else 'raw' end as value_basis
    from {{ ref('int_analytic_values') }} as values_
    left join {{ ref('int_small_area_rates') }} as small
        using (city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
            period_start, period_grain)

),

reference_values as (

    select * from values_
    where area_type = 'city'
       or (area_type = 'county' and not exists (
           select 1 from values_ as own_series
           where own_series.city = values_.city
             and own_series.indicator_id = values_.indicator_id
             and own_series.area_type = 'city'
       ))

),

peer_cities as (

    select
        own.city, own.area_type, own.area_id, own.area_name, own.indicator_id,
        own.breakdown_type, own.breakdown_value, own.period_start, own.period_grain,
        'peer_city' as gap_type,
        peer.city as comparison_id,
        'peer city ' || peer.area_name
            || case when peer.period_grain <> own.period_grain
                then ' (' || strftime(peer.period_start, '%Y') || ', both per year)' else '' end
            as comparison_label,
        own.polarity, own.unit, own.is_small_number,
        case when peer.period_grain <> own.period_grain then own.value_annualised else own.value end as value,
        case when peer.period_grain <> own.period_grain then peer.value_annualised else peer.value end
            as comparison_value,
        own.worse_sign,
        case when peer.period_grain <> own.period_grain then 'annualised' else 'raw' end as value_basis,
        cast(null as integer) as n_points
    from reference_values as own
    inner join reference_values as peer
        on peer.city <> own.city
        and peer.indicator_id = own.indicator_id
        and peer.breakdown_type = own.breakdown_type
        and peer.breakdown_value = own.breakdown_value
        and (
            (peer.period_start = own.period_start and peer.period_grain = own.period_grain)
            -- a month against the peer's year that contains it, both annualised
            or (own.value_kind in ('event_rate', 'amount_rate') and own.period_grain = 'month'
                and peer.period_grain = 'year'
                and peer.period_start = cast(date_trunc('year', own.period_start) as date))
        )

),

ranked_areas as (

    select
        *,
        count(*) over areas as n_areas,
        -- quartile 1 = best: lowest values when lower is better, highest otherwise
        ntile(4) over (
            partition by city, area_type, indicator_id, breakdown_type, breakdown_value,
                period_start, period_grain
            order by worse_sign * compared_value, area_id
        ) as quartile
    from values_
    where area_type not in ('city', 'county')
    window areas as (
        partition by city, area_type, indicator_id, breakdown_type, breakdown_value,
            period_start, period_grain
    )

),

best_quartile as (

    select
        city, area_type, indicator_id, breakdown_type, breakdown_value, period_start,
        period_grain,
        avg(compared_value) as best_quartile_mean,
        count(*) as n_best
    from ranked_areas
    where quartile = 1 and n_areas >= 4
    group by all

),

best_quartile_gaps as (

    select
        areas.city, areas.area_type, areas.area_id, areas.area_name, areas.indicator_id,
        areas.breakdown_type, areas.breakdown_value, areas.period_start, areas.period_grain,
        'best_quartile' as gap_type,
        'best_quartile' as comparison_id,
        'mean of the best quartile of ' || areas.n_areas || ' ' || replace(areas.area_type, '_', ' ') || 's'
            as comparison_label,
        areas.polarity, areas.unit, areas.is_small_number, areas.compared_value as value,
        best.best_quartile_mean as comparison_value,
        areas.worse_sign,
        areas.value_basis,
        cast(best.n_best as integer) as n_points
    from ranked_areas as areas
    inner join best_quartile as best
        using (city, area_type, indicator_id, breakdown_type, breakdown_value, period_start, period_grain)

),

unioned as (

    select * from peer_cities
    union all
    select * from best_quartile_gaps

)

select
    city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain, gap_type, comparison_id, comparison_label, polarity, unit,
    is_small_number, value, comparison_value,
    worse_sign * (value - comparison_value) as gap,
    cast(null as double) as score,
    cast(null as double) as standard_error,
    cast(null as double) as z_score,
    cast(null as boolean) as is_significant,
    n_points,
    value_basis
from unioned
