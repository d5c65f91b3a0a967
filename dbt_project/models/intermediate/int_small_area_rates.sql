-- Empirical-Bayes (Poisson-gamma) rates of the areas of a city, beside the raw ones, for
-- every event-rate value of a sub-city area (community areas, boroughs, wards...): a small
-- area's raw rate rests on few events (half of Chicago's community-area months on fewer
-- than 20), so comparing raw rates ranks noise. Per city x indicator x area type x breakdown
-- x period, with y_i events and exposure E_i (the population) in area i:
--     y_i ~ Poisson(E_i theta_i),  theta_i ~ Gamma(shape a, rate b)  (the areas' spread),
-- a and b by the method of moments (Marshall 1991): m = sum y / sum E,
-- s2 = sum E_i (y_i / E_i - m)^2 / sum E, between-area variance A = s2 - m / mean(E),
-- a = m^2 / A, b = m / A (A <= 0: no detectable spread, every area shrinks to m). The
-- posterior is Gamma(y_i + a, E_i + b): eb rate (y_i + a) / (E_i + b), its 95 % interval
-- (Wilson-Hilferty gamma quantiles), and shrinkage_weight = E_i / (E_i + b), the weight of the
-- area's own rate (1 = its own data, 0 = the city mean). Needs at least 4 areas.
{%- set z = normal_quantile_two_sided(analytics_setting('interval_level')) %}
with values_ as (

    select * from {{ ref('int_analytic_values') }}
    where value_kind = 'event_rate'
      and area_type not in ('city', 'county')
      and numerator is not null and denominator > 0

),

moments as (

    select
        city, indicator_id, area_type, breakdown_type, breakdown_value, period_start, period_grain,
        count(*) as n_areas,
        sum(numerator) / sum(denominator) as pooled_rate,
        sum(denominator) as total_exposure,
        avg(denominator) as mean_exposure
    from values_
    group by all

),

spread as (

    select
        moments.city, moments.indicator_id, moments.area_type, moments.breakdown_type,
        moments.breakdown_value, moments.period_start, moments.period_grain, moments.n_areas,
        moments.pooled_rate, moments.total_exposure, moments.mean_exposure,
        sum(values_.denominator * pow(values_.numerator / values_.denominator - moments.pooled_rate, 2))
            / any_value(moments.total_exposure) as weighted_variance
    from moments
    inner join values_
        using (city, indicator_id, area_type, breakdown_type, breakdown_value, period_start, period_grain)
    group by all

),

priors as (

    select
        *,
        greatest(weighted_variance - pooled_rate / mean_exposure, 0) as between_variance,
        case when weighted_variance - pooled_rate / mean_exposure > 0 and pooled_rate > 0
            then pooled_rate * pooled_rate / (weighted_variance - pooled_rate / mean_exposure) end as prior_shape,
        case when weighted_variance - pooled_rate / mean_exposure > 0 and pooled_rate > 0
            then pooled_rate / (weighted_variance - pooled_rate / mean_exposure) end as prior_rate
    from spread
    where n_areas >= 4

),

posterior as (

    select
        values_.city, values_.area_type, values_.area_id, values_.area_name, values_.indicator_id,
        values_.breakdown_type, values_.breakdown_value, values_.period_start, values_.period_grain,
        values_.value, values_.numerator, values_.denominator, values_.value_scale,
        values_.worse_sign, values_.polarity, values_.unit, values_.is_small_number,
        priors.n_areas, priors.pooled_rate * values_.value_scale as city_pooled_value,
        priors.between_variance, priors.prior_shape, priors.prior_rate,
        -- no detectable spread between areas: the posterior is the pooled rate itself
        coalesce(values_.numerator + priors.prior_shape, 0) as post_shape,
        coalesce(values_.denominator + priors.prior_rate, 0) as post_rate,
        priors.pooled_rate
    from values_
    inner join priors using (city, indicator_id, area_type, breakdown_type, breakdown_value, period_start, period_grain)

)

select
    city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain, value, numerator, denominator, worse_sign, polarity, unit,
    is_small_number, n_areas, city_pooled_value, between_variance, prior_shape, prior_rate,
    case when prior_shape is null then city_pooled_value
        else value_scale * post_shape / post_rate end as eb_value,
    case when prior_shape is null then city_pooled_value
        else value_scale * {{ gamma_quantile('post_shape', 'post_rate', -z) }} end as eb_lower,
    case when prior_shape is null then city_pooled_value
        else value_scale * {{ gamma_quantile('post_shape', 'post_rate', z) }} end as eb_upper,
    case when prior_shape is null then 0.0
        else denominator / (denominator + prior_rate) end as shrinkage_weight
from posterior
