-- Every gap in one long table: to target, to peers (other cities, best quartile of areas),
-- to the past (year over year, multi-year trend) and equity (worst-off areas vs the city).
-- One row per fct_indicator_values row x gap_type x comparison_id. Sign convention for
-- every row: gap > 0 means worse (polarity-aware). Details in ANALYTICS.md.
{%- set parts = [
    'int_indicator_gaps__target',
    'int_indicator_gaps__peers',
    'int_indicator_gaps__past',
    'int_indicator_gaps__equity',
] %}

with gaps as (

    {% for part in parts %}
    select
        city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
        period_start, period_grain, gap_type, comparison_id, comparison_label, polarity,
        unit, is_small_number, value, comparison_value, gap, score, standard_error,
        z_score, is_significant, n_points, value_basis
    from {{ ref(part) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    cast(city as varchar) as city,
    cast(area_type as varchar) as area_type,
    cast(area_id as varchar) as area_id,
    cast(area_name as varchar) as area_name,
    cast(indicator_id as varchar) as indicator_id,
    cast(breakdown_type as varchar) as breakdown_type,
    cast(breakdown_value as varchar) as breakdown_value,
    cast(period_start as date) as period_start,
    cast(period_grain as varchar) as period_grain,
    cast(gap_type as varchar) as gap_type,
    cast(comparison_id as varchar) as comparison_id,
    cast(comparison_label as varchar) as comparison_label,
    cast(polarity as varchar) as polarity,
    cast(unit as varchar) as unit,
    cast(is_small_number as boolean) as is_small_number,
    cast(value as double) as value,
    cast(comparison_value as double) as comparison_value,
    cast(gap as double) as gap,
    -- relative gap, in percent of the comparison value (not for trend rows: no comparison value)
    cast(case when comparison_value <> 0 then 100.0 * gap / abs(comparison_value) end as double) as gap_pct,
    cast(score as double) as score,
    cast(standard_error as double) as standard_error,
    cast(z_score as double) as z_score,
    cast(is_significant as boolean) as is_significant,
    cast(n_points as integer) as n_points,
    cast(value_basis as varchar) as value_basis
from gaps
