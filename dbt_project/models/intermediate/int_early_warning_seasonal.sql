-- Seasonal baseline for monthly count series: the same calendar month in the previous
-- ew_seasonal_years_back years (at least ew_seasonal_min_years of them), and a Poisson Z
-- on the square-root scale (variance-stabilized, fair to small counts):
--     Z = worse_sign * 2 * (sqrt(observed) - sqrt(expected))
-- |Z| > 2 happens ~1 time in 20 by chance, > 3 ~1 in 1000. Chicago's crime extract has one
-- year only, so this model is empty for it until earlier years are loaded.
{%- set years_back = analytics_setting('ew_seasonal_years_back') %}
{%- set min_years = analytics_setting('ew_seasonal_min_years') %}
{%- set levels = analytics_setting('ew_seasonal_level_z') %}
{%- set min_count = analytics_setting('ew_month_min_count') %}
with series as (

    select * from {{ ref('int_early_warning_series') }}
    where series_grain = 'month'

),

baselines as (

    select
        current_.city, current_.area_type, current_.area_id, current_.indicator_id,
        current_.breakdown_type, current_.breakdown_value, current_.series_grain,
        current_.period_start,
        avg(past.observed) as expected,
        count(*) as baseline_periods
    from series as current_
    inner join series as past
        on past.city = current_.city
        and past.area_type = current_.area_type
        and past.area_id = current_.area_id
        and past.indicator_id = current_.indicator_id
        and past.breakdown_type = current_.breakdown_type
        and past.breakdown_value = current_.breakdown_value
        and month(past.period_start) = month(current_.period_start)
        and year(current_.period_start) - year(past.period_start) between 1 and {{ years_back }}
    group by all
    having count(*) >= {{ min_years }}

),

scored as (

    select
        series.*,
        baselines.expected,
        baselines.baseline_periods,
        series.worse_sign * 2 * (sqrt(series.observed) - sqrt(baselines.expected)) as poisson_z
    from series
    inner join baselines
        using (city, area_type, area_id, indicator_id, breakdown_type, breakdown_value, series_grain, period_start)

)

select
    *,
    {{ alert_level('poisson_z', levels,
        gate="case when worse_sign > 0 then observed >= " ~ min_count ~ " else expected >= " ~ min_count ~ " end") }}
        as level
from scored
