-- Monthly unemployment rate (percent) of every city and its areas (boroughs, a county
-- standing in for the city...), in the fct_indicator_values shape. The rate is published
-- already computed: numerator / denominator are null.
with unemployment as (

    select * from {{ ref('int_unemployment') }}

)

select
    city,
    area_type,
    area_id,
    area_name,
    'unemployment_rate' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    month_start as period_start,
    'month' as period_grain,
    unemployment_rate_pct as value,
    cast(null as double) as numerator,
    cast(null as double) as denominator,
    cast(null as integer) as population_year,
    cast(null as varchar) as population_source,
    cast(null as varchar) as population_vintage,
    source_dataset
from unemployment
