-- The outcome series the intervention evaluations read: every indicator value of the
-- warehouse (fct_indicator_values, totals only), and homicides by month
-- (int_intervention_monthly_homicides; the published homicide_rate is yearly). An evaluation
-- reads the monthly series of its indicator and area type when there is one, else the yearly.
select city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain, value, numerator, denominator
from {{ ref('fct_indicator_values') }}
where breakdown_type = 'all'

union all

select city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain, value, numerator, denominator
from {{ ref('int_intervention_monthly_homicides') }} as monthly
-- only where the warehouse has no monthly homicide series of its own
where not exists (
    select 1 from {{ ref('fct_indicator_values') }} as published
    where published.indicator_id = 'homicide_rate' and published.period_grain = 'month'
      and published.city = monthly.city
)
