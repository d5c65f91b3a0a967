-- Indicator values ready for the analytic layer (gaps, early warnings, scores): every
-- fct_indicator_values row that is not suppressed, with
--   worse_sign      the polarity as a sign (+1 when a higher value is worse, -1 when a lower
--                   value is worse): oriented change = worse_sign * (value - reference) > 0
--                   means worse, for every indicator;
--   value_annualised  per-capita flows (event and amount rates) per year, so rates of
--                   different grains compare: value x days in the calendar year / days in
--                   the period (1 for years); other values unchanged;
--   dispersion      quasi-likelihood dispersion of the family (city x indicator x area type
--                   x grain): the mean over its periods of (y - m)^2 / (1.5 var), m the mean
--                   of the two neighbouring periods' rates times this period's exposure
--                   (a local straight line, so a trend is not noise; 1.5 = 1 + 1/2 for the
--                   neighbours' own noise), var the Poisson (counts) or binomial (cohorts)
--                   variance; floored at 1, with its degrees of freedom;
--   interval_lower / interval_upper  the 95 % interval widened by that dispersion
--                   (quasi-Poisson: the Poisson interval of k / phi, times phi; quasi-binomial:
--                   Wilson with n / phi). Counts of crime vary 1.6-2.5 times more than
--                   Poisson between periods, so the plain Poisson interval is too narrow.
{%- set z = normal_quantile_two_sided(analytics_setting('interval_level')) %}
{%- set alpha = 1 - analytics_setting('interval_level') %}
with facts as (

    select * from {{ ref('fct_indicator_values') }}
    -- suppressed cohorts are not published, so they are not compared or alerted on
    where not is_suppressed

),

indicators as (

    select indicator_id, name as indicator_name, polarity from {{ ref('dim_indicators') }}

),

statistics as (

    select * from {{ ref('indicator_statistics') }}

),

joined as (

    select
        facts.*,
        indicators.indicator_name,
        indicators.polarity,
        case indicators.polarity when 'lower_is_better' then 1 else -1 end as worse_sign,
        statistics.value_kind,
        statistics.value_scale,
        coalesce(statistics.series_label, indicators.indicator_name) as series_label,
        statistics.count_noun
    from facts
    inner join indicators on indicators.indicator_id = facts.indicator_id
    left join statistics on statistics.indicator_id = facts.indicator_id

),

neighbours as (

    select
        *,
        lag(numerator) over series_order as previous_numerator,
        lead(numerator) over series_order as next_numerator,
        lag(denominator) over series_order as previous_denominator,
        lead(denominator) over series_order as next_denominator,
        lag(value) over series_order as previous_value,
        lead(value) over series_order as next_value
    from joined
    window series_order as (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
            period_grain
        order by period_start
    )

),

local_residuals as (

    -- the period against the mean of its two neighbours (a straight line through them, so a
    -- trend is not counted as noise): Var(y - m) = phi mu (1 + 1/2) under local constancy
    select
        *,
        case
            when value_kind = 'event_rate' and previous_numerator is not null
                and next_numerator is not null and denominator > 0
                and previous_denominator > 0 and next_denominator > 0
                then denominator * (previous_numerator / previous_denominator
                    + next_numerator / next_denominator) / 2
        end as local_expected,
        case
            when value_kind = 'proportion' and denominator > 0 and previous_value is not null
                and next_value is not null
                then (previous_value + next_value) / 2 / value_scale
        end as local_proportion
    from neighbours

),

scaled_residuals as (

    select
        *,
        case
            when local_expected > 0
                then pow(numerator - local_expected, 2) / (1.5 * local_expected)
            when local_proportion > 0 and local_proportion < 1
                then pow(value / value_scale - local_proportion, 2)
                    / (1.5 * local_proportion * (1 - local_proportion) / denominator)
        end as local_residual2
    from local_residuals

),

dispersed as (

    select
        * exclude (previous_numerator, next_numerator, previous_denominator, next_denominator,
            previous_value, next_value, local_expected, local_proportion),
        greatest(1.0, coalesce(avg(local_residual2) over family, 1.0)) as dispersion,
        count(local_residual2) over family as dispersion_df
    from scaled_residuals
    window family as (partition by city, indicator_id, area_type, period_grain)

)

select
    * exclude (local_residual2, value_lower, value_upper, value_annualised),
    value_lower,
    value_upper,
    -- fct_indicator_values.value_annualised is null for values that are not rates; here a
    -- non-rate keeps its value (factor 1), so every comparison can read one column
    case when value_kind in ('event_rate', 'amount_rate')
        then {{ annualisation_factor('period_start', 'period_grain') }} else 1.0 end as annualisation_factor,
    value * case when value_kind in ('event_rate', 'amount_rate')
        then {{ annualisation_factor('period_start', 'period_grain') }} else 1.0 end as value_annualised,
    case
        when value_kind = 'event_rate' and numerator is not null and denominator > 0
            then dispersion * {{ poisson_lower('numerator / dispersion', z, alpha) }} * value_scale / denominator
        when value_kind = 'proportion' and denominator > 0
            then value_scale * {{ wilson_bound('value / value_scale', 'denominator / dispersion', z, '-') }}
        else value_lower
    end as interval_lower,
    case
        when value_kind = 'event_rate' and numerator is not null and denominator > 0
            then dispersion * {{ poisson_upper('numerator / dispersion', z, alpha) }} * value_scale / denominator
        when value_kind = 'proportion' and denominator > 0
            then value_scale * {{ wilson_bound('value / value_scale', 'denominator / dispersion', z, '+') }}
        else value_upper
    end as interval_upper
from dispersed
