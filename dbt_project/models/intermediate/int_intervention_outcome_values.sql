-- The outcome series the intervention evaluations read: every indicator value of the
-- warehouse (fct_indicator_values, totals only) in its columns.
select city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain, value, numerator, denominator
from {{ ref('fct_indicator_values') }}
where breakdown_type = 'all'
