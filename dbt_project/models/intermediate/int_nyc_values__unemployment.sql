-- Monthly unemployment rate (percent) of New York City (area_type 'city', 1976-) and of each
-- borough (area_type 'borough', 1990-), as published by NYS DOL LAUS (fraction x 100).
-- The rate is published already computed: numerator / denominator are null, as for Chicago.
-- Annual averages (month 0) are not months and are left out (int_nyc_unemployment).
with unemployment as (

    select * from {{ ref('int_nyc_unemployment') }}

)

select
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
    cast(null as double) as denominator
from unemployment
