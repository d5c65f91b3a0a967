-- Gap to peers, two kinds:
--   peer_city:     a city's value against each other city in the warehouse with the same
--                  indicator, breakdown and period, each at its reference area: the city's
--                  own series (area_type 'city'), else the county series standing in for it
--                  (e.g. an unemployment rate published for the county only). With one city
--                  loaded there are simply no rows; marts.fct_peer_comparability says which
--                  cities are comparable on what.
--   best_quartile: an area's value against the mean of the best quartile of the areas of
--                  the same type in its city and period (what is demonstrably achievable
--                  there). Needs at least 4 areas. Areas are ranked by value, best first by
--                  polarity; the quartile mean is unweighted.
-- gap = worse_sign * (value - comparison_value): positive = worse than the peer.
with values_ as (

    select * from {{ ref('int_analytic_values') }}

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
        'peer city ' || peer.area_name as comparison_label,
        own.polarity, own.unit, own.is_small_number, own.value,
        peer.value as comparison_value,
        own.worse_sign,
        cast(null as integer) as n_points
    from reference_values as own
    inner join reference_values as peer
        on peer.city <> own.city
        and peer.indicator_id = own.indicator_id
        and peer.breakdown_type = own.breakdown_type
        and peer.breakdown_value = own.breakdown_value
        and peer.period_start = own.period_start
        and peer.period_grain = own.period_grain

),

ranked_areas as (

    select
        *,
        count(*) over areas as n_areas,
        -- quartile 1 = best: lowest values when lower is better, highest otherwise
        ntile(4) over (
            partition by city, area_type, indicator_id, breakdown_type, breakdown_value,
                period_start, period_grain
            order by worse_sign * value, area_id
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
        avg(value) as best_quartile_mean,
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
        areas.polarity, areas.unit, areas.is_small_number, areas.value,
        best.best_quartile_mean as comparison_value,
        areas.worse_sign,
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
    n_points
from unioned
