-- The reference window of every city x indicator for the problem scores: the indicator's
-- reference area (the city, else its county), its latest period, the last 12 months of data
-- for monthly indicators or the latest year for annual ones (window_start), and the start of
-- the early-warning window (the last early_warning_active_months months).
{%- set active_months = "cast(" ~ scoring_parameter('normalization', 'early_warning_active_months') ~ " as integer)" %}
with facts as (

    select * from {{ ref('int_analytic_values') }}
    where breakdown_type = 'all'

),

reference_areas as (

    -- the city's own series, else the county's
    select
        city, indicator_id, area_type, area_id, period_grain,
        max(period_start) as latest_period
    from facts
    where area_type in ('city', 'county')
    group by city, indicator_id, area_type, area_id, period_grain
    qualify row_number() over (
        partition by city, indicator_id
        order by case area_type when 'city' then 0 else 1 end, area_id
    ) = 1

)

select
    *,
    case when period_grain = 'month'
        then cast(latest_period - interval 11 month as date)
        else latest_period
    end as window_start,
    cast(latest_period - to_months({{ active_months }} - 1) as date) as warning_start
from reference_areas
