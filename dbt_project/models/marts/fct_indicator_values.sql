-- All indicator values in one long table: one row per city x area x indicator x breakdown x
-- period, for every city. The column set and types are a contract the dashboards depend on
-- (enforced, see _marts.yml). Each indicator family is built once for all cities in an
-- int_indicator_values__* model from the canonical tables; this model stacks them and takes
-- the unit from the indicator catalog.
--
-- value_annualised: event and amount rates per year (x days in the period's year / days in the period),
-- so a month and a year, or two cities, compare in one unit; population_year /
-- population_source / population_vintage say which population figure a per-resident value
-- divides by.
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
] %}

with indicator_values as (

    {% for family in families %}
    select
        city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
        period_start, period_grain, value, numerator, denominator, population_year,
        population_source, population_vintage, source_dataset
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
    -- {{ (analytics_setting('interval_level') * 100) | round(1) }} % interval of the value: Poisson (Byar) for event
    -- rates, Wilson for proportions with a cohort size; null when there is nothing to base it
    -- on (e.g. Chicago's graduation rates come without cohort sizes)
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
    ) as boolean) as is_suppressed,
    -- per year: a monthly rate of events or dollars per resident x (days in its year / days
    -- in the month); a yearly rate as is. Null when the value is not a rate (dollars,
    -- percentages).
    cast(case
        when statistics.value_kind in ('event_rate', 'amount_rate')
            then indicator_values.value
                * {{ annualisation_factor('indicator_values.period_start', 'indicator_values.period_grain') }}
    end as double) as value_annualised,
    cast(indicator_values.population_year as integer) as population_year,
    cast(indicator_values.population_source as varchar) as population_source,
    cast(indicator_values.population_vintage as varchar) as population_vintage,
    cast(indicator_values.source_dataset as varchar) as source_dataset
from indicator_values
left join catalog on catalog.indicator_id = indicator_values.indicator_id
left join statistics on statistics.indicator_id = indicator_values.indicator_id
left join reporting_rules on reporting_rules.city = indicator_values.city
