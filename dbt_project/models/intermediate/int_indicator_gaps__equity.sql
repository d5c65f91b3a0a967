-- Equity gap: how far the worst-off areas are from the city as a whole. For each city,
-- indicator, breakdown and period, the unweighted mean of the worst quartile of the areas
-- of each sub-city type (community areas, schools) against the city's own value. Needs at
-- least 4 areas. The row is keyed on the city's value (area_type 'city'); `value` holds
-- the worst-quartile mean and `comparison_value` the city value, so
-- gap = worse_sign * (worst quartile mean - city value) >= 0 measures the disparity.
-- Event rates of areas are ranked and averaged on their empirical-Bayes rates
-- (int_small_area_rates), so the "worst" quartile is not simply the smallest areas' noise.
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

ranked_areas as (

    select
        *,
        count(*) over areas as n_areas,
        -- quartile 1 = worst: highest values when lower is better, lowest otherwise
        ntile(4) over (
            partition by city, area_type, indicator_id, breakdown_type, breakdown_value,
                period_start, period_grain
            order by worse_sign * compared_value desc, area_id
        ) as quartile
    from values_
    where area_type not in ('city', 'county')
    window areas as (
        partition by city, area_type, indicator_id, breakdown_type, breakdown_value,
            period_start, period_grain
    )

),

worst_quartile as (

    select
        city, area_type as sub_area_type, indicator_id, breakdown_type, breakdown_value,
        period_start, period_grain,
        avg(compared_value) as worst_quartile_mean,
        count(*) as n_worst,
        max(n_areas) as n_areas,
        max(value_basis) as value_basis
    from ranked_areas
    where quartile = 1 and n_areas >= 4
    group by all

)

select
    city_values.city, city_values.area_type, city_values.area_id, city_values.area_name,
    city_values.indicator_id, city_values.breakdown_type, city_values.breakdown_value,
    city_values.period_start, city_values.period_grain,
    'equity' as gap_type,
    'worst_quartile_' || worst.sub_area_type as comparison_id,
    'mean of the worst quartile (' || worst.n_worst || ' of ' || worst.n_areas || ' '
        || replace(worst.sub_area_type, '_', ' ') || 's) vs the city' as comparison_label,
    city_values.polarity, city_values.unit, city_values.is_small_number,
    worst.worst_quartile_mean as value,
    city_values.value as comparison_value,
    city_values.worse_sign * (worst.worst_quartile_mean - city_values.value) as gap,
    cast(null as double) as score,
    cast(null as double) as standard_error,
    cast(null as double) as z_score,
    cast(null as boolean) as is_significant,
    cast(worst.n_worst as integer) as n_points,
    worst.value_basis
from values_ as city_values
inner join worst_quartile as worst
    on worst.city = city_values.city
    and worst.indicator_id = city_values.indicator_id
    and worst.breakdown_type = city_values.breakdown_type
    and worst.breakdown_value = city_values.breakdown_value
    and worst.period_start = city_values.period_start
    and worst.period_grain = city_values.period_grain
where city_values.area_type = 'city'
