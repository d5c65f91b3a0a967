-- Funnel-plot data: every area's event rate against its city's rate, with the control limits
-- that chance alone allows an area of its size (Spiegelhalter 2005), one row per city x
-- indicator x area type x period x area. A dashboard draws the areas as points (x = the
-- expected count, or the population; y = the rate) and the limits as lines through the
-- points sorted by x: small areas scatter widely by chance, large ones should sit close to
-- the city rate. Columns:
--   city_rate            pooled rate of the areas of the type (sum of events / sum of
--                        population), the funnel's centre
--   expected             population x city rate: the events an area would have at it
--   limit_95_*, limit_998_*  the rate an area of this population reaches by Poisson chance
--                        with probability 2.5 % / 0.1 % on each side (Poisson quantiles of
--                        the expected count, Cornish-Fisher), in the value's unit
--   overdispersion       phi of the areas (mean squared z-score, the largest and smallest
--                        10 % winsorised), floored at 1: areas differ by more than chance
--   limit_998_*_overdispersed  the 99.8 % limits' distance from the expected count x sqrt(phi)
--   position             inside | above_95 | above_998 | below_95 | below_998 (Poisson
--                        limits), and eb_value / eb_lower / eb_upper the area's
--                        empirical-Bayes rate (int_small_area_rates).
with areas as (

    select * from {{ ref('int_small_area_rates') }}

),

centred as (

    select
        areas.*,
        sum(areas.numerator) over family / sum(areas.denominator) over family as city_rate_raw,
        sum(areas.numerator) over family * 1.0 as city_events,
        (areas.value / nullif(areas.city_pooled_value, 0)) as ratio_to_city
    from areas
    window family as (
        partition by city, indicator_id, area_type, breakdown_type, breakdown_value, period_start, period_grain
    )

),

scored as (

    select
        *,
        denominator * city_rate_raw as expected,
        case when denominator * city_rate_raw > 0
            then (numerator - denominator * city_rate_raw) / sqrt(denominator * city_rate_raw) end as z_score
    from centred

),

winsorised as (

    select
        *,
        quantile_cont(z_score, 0.1) over family as z_low,
        quantile_cont(z_score, 0.9) over family as z_high
    from scored
    window family as (
        partition by city, indicator_id, area_type, breakdown_type, breakdown_value, period_start, period_grain
    )

),

dispersed as (

    select
        *,
        greatest(1.0, avg(pow(least(greatest(z_score, z_low), z_high), 2)) over (
            partition by city, indicator_id, area_type, breakdown_type, breakdown_value, period_start, period_grain
        )) as overdispersion
    from winsorised

),

limits as (

    select
        *,
        city_pooled_value / nullif(city_rate_raw, 0) / denominator as per_event,
        {{ poisson_quantile('expected', '-1.959964') }} as count_95_lower,
        {{ poisson_quantile('expected', '1.959964') }} as count_95_upper,
        {{ poisson_quantile('expected', '-3.090232') }} as count_998_lower,
        {{ poisson_quantile('expected', '3.090232') }} as count_998_upper
    from dispersed

)

select
    cast(city as varchar) as city,
    cast(indicator_id as varchar) as indicator_id,
    cast(area_type as varchar) as area_type,
    cast(area_id as varchar) as area_id,
    cast(area_name as varchar) as area_name,
    cast(breakdown_type as varchar) as breakdown_type,
    cast(breakdown_value as varchar) as breakdown_value,
    cast(period_start as date) as period_start,
    cast(period_grain as varchar) as period_grain,
    cast(unit as varchar) as unit,
    cast(numerator as double) as observed,
    cast(denominator as double) as population,
    cast(expected as double) as expected,
    cast(value as double) as value,
    cast(city_pooled_value as double) as city_rate,
    cast(ratio_to_city as double) as ratio_to_city,
    cast(z_score as double) as z_score,
    cast(count_95_lower * per_event as double) as limit_95_lower,
    cast(count_95_upper * per_event as double) as limit_95_upper,
    cast(count_998_lower * per_event as double) as limit_998_lower,
    cast(count_998_upper * per_event as double) as limit_998_upper,
    cast(overdispersion as double) as overdispersion,
    cast(greatest(0, expected - sqrt(overdispersion) * (expected - count_998_lower)) * per_event as double)
        as limit_998_lower_overdispersed,
    cast((expected + sqrt(overdispersion) * (count_998_upper - expected)) * per_event as double)
        as limit_998_upper_overdispersed,
    cast(case
        when numerator > count_998_upper then 'above_998'
        when numerator > count_95_upper then 'above_95'
        when numerator < count_998_lower then 'below_998'
        when numerator < count_95_lower then 'below_95'
        else 'inside'
    end as varchar) as position,
    cast(eb_value as double) as eb_value,
    cast(eb_lower as double) as eb_lower,
    cast(eb_upper as double) as eb_upper,
    cast(shrinkage_weight as double) as shrinkage_weight,
    cast(is_small_number as boolean) as is_small_number
from limits
