-- All indicator values in one long table: one row per city x area x indicator x breakdown x
-- period. The column set and types are a contract the dashboards depend on (enforced, see
-- _marts.yml). Each indicator family is built in an int_indicator_values__* model; this
-- model stacks them and takes the unit from the indicator catalog.
--
-- Statistical columns (ANALYTICS.md): a small-number flag, a confidence interval and a
-- suppression flag, driven by the seeds indicator_statistics (how the value is built) and
-- indicator_reporting_rules (per-city thresholds, city '*' = default).
{%- set z = normal_quantile_two_sided(analytics_setting('interval_level')) %}
{%- set alpha = 1 - analytics_setting('interval_level') %}
{%- set families = [
    'int_indicator_values__crime',
    'int_indicator_values__education',
    'int_indicator_values__building_permits',
    'int_indicator_values__unemployment',
    'int_indicator_values__spending',
    'int_indicator_values__nyc',
] %}

with indicator_values as (

    {% for family in families %}
    select
        city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
        period_start, period_grain, value, numerator, denominator
    from {{ ref(family) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

catalog as (

    select indicator_id, unit from {{ ref('dim_indicators') }}

),

statistics as (

    select * from {{ ref('indicator_statistics') }}

),

reporting_rules as (

    -- the city's own row, else the default row '*'
    select
        cities.city,
        coalesce(own.min_events_for_stable_rate, fallback.min_events_for_stable_rate)
            as min_events_for_stable_rate,
        coalesce(own.suppress_denominator_at_most, fallback.suppress_denominator_at_most)
            as suppress_denominator_at_most
    from (select distinct city from indicator_values) as cities
    left join {{ ref('indicator_reporting_rules') }} as own on own.city = cities.city
    left join {{ ref('indicator_reporting_rules') }} as fallback on fallback.city = '*'

)

select
    cast(indicator_values.city as varchar) as city,
    cast(indicator_values.area_type as varchar) as area_type,
    cast(indicator_values.area_id as varchar) as area_id,
    cast(indicator_values.area_name as varchar) as area_name,
    cast(indicator_values.indicator_id as varchar) as indicator_id,
    cast(indicator_values.breakdown_type as varchar) as breakdown_type,
    cast(indicator_values.breakdown_value as varchar) as breakdown_value,
    cast(indicator_values.period_start as date) as period_start,
    cast(indicator_values.period_grain as varchar) as period_grain,
    cast(indicator_values.value as double) as value,
    cast(indicator_values.numerator as double) as numerator,
    cast(indicator_values.denominator as double) as denominator,
    -- left join: an indicator missing from the catalog keeps its rows with a null unit and
    -- fails the relationships / not_null tests instead of disappearing
    cast(catalog.unit as varchar) as unit,
    -- a rate on few events jumps around by chance: flag it (null when the value is not a
    -- count of events, e.g. dollars or a published rate)
    cast(case
        when statistics.value_kind = 'event_rate' and indicator_values.numerator is not null
            then indicator_values.numerator < reporting_rules.min_events_for_stable_rate
    end as boolean) as is_small_number,
    -- {{ (analytics_setting('interval_level') * 100) | round(1) }} % interval of the value: Poisson (Byar) for event rates, Wilson for
    -- proportions with a cohort size; null when there is nothing to base it on (e.g.
    -- Chicago's graduation rates come without cohort sizes)
    cast(case
        when statistics.interval_method = 'poisson' and indicator_values.denominator > 0
            then {{ poisson_lower('indicator_values.numerator', z, alpha) }}
                * statistics.value_scale / indicator_values.denominator
        when statistics.interval_method = 'wilson' and indicator_values.denominator > 0
            then statistics.value_scale * {{ wilson_bound(
                'least(greatest(indicator_values.value / statistics.value_scale, 0), 1)',
                'indicator_values.denominator', z, '-') }}
    end as double) as value_lower,
    cast(case
        when statistics.interval_method = 'poisson' and indicator_values.denominator > 0
            then {{ poisson_upper('indicator_values.numerator', z, alpha) }}
                * statistics.value_scale / indicator_values.denominator
        when statistics.interval_method = 'wilson' and indicator_values.denominator > 0
            then statistics.value_scale * {{ wilson_bound(
                'least(greatest(indicator_values.value / statistics.value_scale, 0), 1)',
                'indicator_values.denominator', z, '+') }}
    end as double) as value_upper,
    -- tiny cohorts are suppressed as publishers do (NYC: 20 students or fewer); the value
    -- is kept for auditing but gaps and early warnings leave these rows out and the
    -- dashboards must show 's'
    cast(coalesce(
        statistics.value_kind = 'proportion'
        and indicator_values.denominator <= reporting_rules.suppress_denominator_at_most,
        false
    ) as boolean) as is_suppressed
from indicator_values
left join catalog on catalog.indicator_id = indicator_values.indicator_id
left join statistics on statistics.indicator_id = indicator_values.indicator_id
left join reporting_rules on reporting_rules.city = indicator_values.city
