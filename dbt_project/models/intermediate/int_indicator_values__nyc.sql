-- Every New York City indicator value in the exact shape of fct_indicator_values (same
-- columns, same types, unit from the indicator catalog; contract enforced, see
-- _intermediate_nyc.yml), ready to be stacked with the Chicago families. One row per
-- area x indicator x breakdown x period; city = 'nyc'.
--   area_type 'city'    area_id 'nyc' (New York City)
--   area_type 'borough' area_id = county FIPS code ('36047' = Brooklyn / Kings County)
--   area_type 'school'  area_id = NYC DOE DBN ('01M292')
{%- set families = [
    'int_nyc_values__crime',
    'int_nyc_values__shootings',
    'int_nyc_values__education',
    'int_nyc_values__unemployment',
    'int_nyc_values__spending',
] %}

with indicator_values as (

    {% for family in families %}
    select
        area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
        period_start, period_grain, value, numerator, denominator
    from {{ ref(family) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

catalog as (

    select indicator_id, unit from {{ ref('indicator_catalog') }}

)

select
    cast('nyc' as varchar) as city,
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
    -- fails the not_null / relationships tests instead of disappearing
    cast(catalog.unit as varchar) as unit
from indicator_values
left join catalog on catalog.indicator_id = indicator_values.indicator_id
