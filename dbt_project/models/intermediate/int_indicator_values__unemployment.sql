-- Monthly unemployment rate (percent) of Cook County, IL in the fct_indicator_values shape.
-- County-level series: area_type 'county', area_id = county FIPS code.
with unemployment as (

    select * from {{ ref('stg_chicago__unemployment_rate') }}

)

select
    'chicago' as city,
    'county' as area_type,
    '17031' as area_id,
    'Cook County, IL' as area_name,
    'unemployment_rate' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    month_start as period_start,
    'month' as period_grain,
    unemployment_rate_pct as value,
    cast(null as double) as numerator,
    cast(null as double) as denominator
from unemployment
-- Months FRED publishes as missing ('.') have no value: an indicator row needs one.
where unemployment_rate_pct is not null
