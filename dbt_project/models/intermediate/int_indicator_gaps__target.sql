-- Gap to target: each value against every target of seed indicator_targets that applies to
-- it (its city or every city, *; same indicator; matching area_type / area_id when the
-- target names them; period within [period_from, period_to]).
--   absolute targets:               target = target_value (period_basis per_period), or for a
--                                    yearly target of a per-capita flow (per_year) the share
--                                    of the period: target_value / annualisation factor x the
--                                    month's seasonal index (seed indicator_seasonality), so a
--                                    July is held to a July rate, not to the year / 12
--   reduction_from_baseline targets: target = (1 - reduction_pct/100) * the value of the same
--                                    area in the same period of baseline_year (same month
--                                    for monthly indicators)
-- gap = worse_sign * (value - target): positive = short of the target.
-- score = CityScore-style actual/target, inverted when lower is better (target/actual), so
-- >= 1 means the target is met.
with values_ as (

    select * from {{ ref('int_analytic_values') }}

),

targets as (

    select * from {{ ref('indicator_targets') }}

),

matched as (

    select
        values_.*,
        targets.target_id,
        targets.target_kind,
        targets.status as target_status,
        targets.target_value,
        targets.period_basis,
        targets.baseline_year,
        targets.reduction_pct,
        coalesce(seasonality.seasonal_index, 1.0) as seasonal_index
    from values_
    inner join targets
        on targets.city in (values_.city, '*')
        and targets.indicator_id = values_.indicator_id
        and (targets.area_type is null or targets.area_type = values_.area_type)
        and (targets.area_id is null or targets.area_id = values_.area_id)
        and values_.period_start >= targets.period_from
        and (targets.period_to is null or values_.period_start <= targets.period_to)
    left join {{ ref('indicator_seasonality') }} as seasonality
        on seasonality.profile_id = targets.seasonal_profile
        and values_.period_grain = 'month'
        and seasonality.month = month(values_.period_start)

),

with_target as (

    select
        matched.*,
        case
            when matched.target_kind = 'absolute' and matched.period_basis = 'per_year'
                then matched.target_value * matched.seasonal_index / matched.annualisation_factor
            when matched.target_kind = 'absolute' then matched.target_value
            else baseline.value * (1 - matched.reduction_pct / 100.0)
        end as target
    from matched
    left join values_ as baseline
        on matched.target_kind = 'reduction_from_baseline'
        and baseline.city = matched.city
        and baseline.area_type = matched.area_type
        and baseline.area_id = matched.area_id
        and baseline.indicator_id = matched.indicator_id
        and baseline.breakdown_type = matched.breakdown_type
        and baseline.breakdown_value = matched.breakdown_value
        and baseline.period_grain = matched.period_grain
        and year(baseline.period_start) = matched.baseline_year
        and (matched.period_grain <> 'month' or month(baseline.period_start) = month(matched.period_start))

)

select
    city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain,
    'target' as gap_type,
    target_id as comparison_id,
    case target_kind
        when 'absolute' then 'target ' || target_id || ' (' || target_status || ')'
            || case when period_basis = 'per_year' and period_grain <> 'year'
                then ': ' || target_value || ' per year, this period''s seasonal share' else '' end
        else 'target ' || target_id || ' (' || target_status || '): ' || reduction_pct
            || ' % below ' || baseline_year
    end as comparison_label,
    polarity, unit, is_small_number,
    value,
    target as comparison_value,
    worse_sign * (value - target) as gap,
    case
        when polarity = 'higher_is_better' and target <> 0 then value / target
        when polarity = 'lower_is_better' and value <> 0 then target / value
    end as score,
    cast(null as double) as standard_error,
    cast(null as double) as z_score,
    cast(null as boolean) as is_significant,
    cast(null as integer) as n_points,
    'raw' as value_basis
from with_target
-- a reduction target whose baseline period has no value cannot be evaluated
where target is not null
