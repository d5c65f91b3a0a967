-- Indicator values ready for the analytic layer (gaps, early warnings): every
-- fct_indicator_values row that is not suppressed, with the indicator's polarity turned
-- into a sign (worse_sign = +1 when a higher value is worse, -1 when a lower value is
-- worse), so that "worse" can be computed the same way for every indicator:
--     oriented change = worse_sign * (value - reference)   > 0 means worse.
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

)

select
    facts.city,
    facts.area_type,
    facts.area_id,
    facts.area_name,
    facts.indicator_id,
    facts.breakdown_type,
    facts.breakdown_value,
    facts.period_start,
    facts.period_grain,
    facts.value,
    facts.numerator,
    facts.denominator,
    facts.unit,
    facts.is_small_number,
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
