-- "Data as of", per city and domain: the newest period the indicators of the domain cover,
-- how old it is on the as-of date (the day of the run), and the indicators behind it. Every
-- page that shows a domain's figures says this date beside them.
with values_ as (

    select values_.*, indicators.domain, indicators.name as indicator_name
    from {{ ref('fct_indicator_values') }} as values_
    inner join {{ ref('dim_indicators') }} as indicators using (indicator_id)

),

latest_by_indicator as (

    select
        city, domain, indicator_id, indicator_name,
        max(period_start) as latest_period_start,
        arg_max(period_grain, period_start) as period_grain,
        max({{ period_end('period_start', 'period_grain') }}) as latest_period_end
    from values_
    group by city, domain, indicator_id, indicator_name

),

by_domain as (

    select
        city,
        domain,
        -- the period that ends last (a year of 2022 ends after its November), as dim_cities'
        -- data_until: mixed grains in one domain must not give two different dates
        arg_max(latest_period_start, latest_period_end) as latest_period_start,
        arg_max(period_grain, latest_period_end) as period_grain,
        string_agg(
            indicator_name || ' to ' || {{ period_label('latest_period_start', 'period_grain') }},
            '; ' order by indicator_name
        ) as indicators_label,
        count(*) as n_indicators
    from latest_by_indicator
    group by city, domain

)

select
    city,
    domain,
    latest_period_start,
    period_grain,
    {{ period_label('latest_period_start', 'period_grain') }} as latest_period_label,
    cast({{ period_end('latest_period_start', 'period_grain') }} - interval 1 day as date) as data_until,
    {{ dashboards_as_of() }} as as_of_date,
    {{ age_label(period_end('latest_period_start', 'period_grain'), dashboards_as_of()) }} as age_label,
    n_indicators,
    indicators_label
from by_domain
