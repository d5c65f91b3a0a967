-- All indicator values in one long table: one row per city x area x indicator x breakdown x
-- period. The column set and types are a contract the dashboards depend on (enforced, see
-- _marts.yml). Each indicator family is built in an int_indicator_values__* model; this
-- model stacks them and takes the unit from the indicator catalog.
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
        period_start, period_grain, value, numerator, denominator
    from {{ ref(family) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

catalog as (

    select indicator_id, unit from {{ ref('dim_indicators') }}

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
    cast(catalog.unit as varchar) as unit
from indicator_values
left join catalog on catalog.indicator_id = indicator_values.indicator_id
