-- Which cities can be compared on what: one row per indicator and pair of cities that both
-- publish it (each at its reference area: the city, else the county standing in for it, as
-- in the peer gaps), with the periods they share at the same grain and why they are or are
-- not comparable. Rates per resident compare directly within one grain and period; across
-- grains only value_annualised puts them in one unit, and no peer gap is computed for them.
with facts as (

    select * from {{ ref('fct_indicator_values') }}
    where breakdown_type = 'all' and not is_suppressed

),

reference as (

    select * from facts
    where area_type = 'city'
       or (area_type = 'county' and not exists (
           select 1 from facts as own_series
           where own_series.city = facts.city
             and own_series.indicator_id = facts.indicator_id
             and own_series.area_type = 'city'
       ))

),

series as (

    select
        city, indicator_id, period_grain,
        string_agg(distinct area_type || ' ' || area_name, ', ') as reference_area,
        min(period_start) as first_period,
        max(period_start) as last_period,
        count(distinct period_start) as n_periods,
        string_agg(distinct population_source || ' (' || population_vintage || ')', '; ')
            as population_basis
    from reference
    group by all

),

shared as (

    select a.city, b.city as peer_city, a.indicator_id, a.period_grain,
        count(distinct a.period_start) as n_shared_periods,
        min(a.period_start) as first_shared_period,
        max(a.period_start) as last_shared_period
    from reference as a
    inner join reference as b
        on b.city <> a.city
        and b.indicator_id = a.indicator_id
        and b.period_grain = a.period_grain
        and b.period_start = a.period_start
    group by all

),

pairs as (

    select
        a.indicator_id,
        a.city,
        b.city as peer_city,
        a.period_grain,
        b.period_grain as peer_period_grain,
        a.reference_area,
        b.reference_area as peer_reference_area,
        a.first_period, a.last_period,
        b.first_period as peer_first_period, b.last_period as peer_last_period,
        coalesce(shared.n_shared_periods, 0) as n_shared_periods,
        shared.first_shared_period,
        shared.last_shared_period,
        a.population_basis,
        b.population_basis as peer_population_basis
    from series as a
    inner join series as b
        on b.indicator_id = a.indicator_id and b.city <> a.city
    left join shared
        on shared.city = a.city and shared.peer_city = b.city
        and shared.indicator_id = a.indicator_id and shared.period_grain = a.period_grain
        and b.period_grain = a.period_grain

)

select
    cast(pairs.indicator_id as varchar) as indicator_id,
    cast(pairs.city as varchar) as city,
    cast(pairs.peer_city as varchar) as peer_city,
    cast(pairs.period_grain as varchar) as period_grain,
    cast(pairs.peer_period_grain as varchar) as peer_period_grain,
    cast(pairs.n_shared_periods > 0 as boolean) as is_comparable,
    cast(pairs.n_shared_periods as integer) as n_shared_periods,
    cast(pairs.first_shared_period as date) as first_shared_period,
    cast(pairs.last_shared_period as date) as last_shared_period,
    cast(case
        when pairs.n_shared_periods > 0
            then 'comparable: same indicator, grain and period ('
                || pairs.n_shared_periods || ' ' || pairs.period_grain || 's); peer_city gaps computed'
        when pairs.period_grain <> pairs.peer_period_grain
            then 'not compared: ' || pairs.city || ' publishes it by ' || pairs.period_grain || ', '
                || pairs.peer_city || ' by ' || pairs.peer_period_grain
                || ' (value_annualised puts both in one unit, but no period is the same)'
        else 'not compared: no shared period (' || strftime(pairs.first_period, '%Y-%m') || ' to '
            || strftime(pairs.last_period, '%Y-%m') || ' against '
            || strftime(pairs.peer_first_period, '%Y-%m') || ' to '
            || strftime(pairs.peer_last_period, '%Y-%m') || ')'
    end as varchar) as comparability,
    cast(pairs.reference_area as varchar) as reference_area,
    cast(pairs.peer_reference_area as varchar) as peer_reference_area,
    cast(pairs.population_basis as varchar) as population_basis,
    cast(pairs.peer_population_basis as varchar) as peer_population_basis,
    cast(indicators.unit as varchar) as unit
from pairs
inner join {{ ref('dim_indicators') }} as indicators using (indicator_id)
