-- Funnel plot: each area's rate against the city rate with Poisson control limits for its
-- population. The page shows the latest period of each city, indicator and area type for all
-- residents (no breakdown): only those rows and the columns it reads are shipped, because
-- every source table is downloaded on a reader's first page (the whole table: 1.9 MB).
select
    city, indicator_id, area_type, breakdown_type, area_id, area_name, period_start,
    period_grain, unit, observed, population, expected, value, city_rate,
    limit_95_lower, limit_95_upper, limit_998_lower, limit_998_upper, position, eb_value
from read_parquet('exports/fct_area_funnel.parquet')
where breakdown_type = 'all'
qualify period_start = max(period_start) over (partition by city, indicator_id, area_type)
