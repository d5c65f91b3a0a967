-- The district-wide 4-year graduation rate a publisher prints beside each school (e.g. the
-- CPS rate on every Chicago progress report), per city and graduating class: the city's
-- value where published. n_distinct_rates_in_report checks that a report's rows agree
-- (tested = 1); the latest report wins, as for the schools.
with outcomes as (

    select * from {{ ref('stg_graduation_outcomes') }}
    where excluded_by is null and district_graduation_pct is not null and graduation_year is not null

),

per_report as (

    select
        city,
        report_year,
        graduation_year,
        min(district_graduation_pct) as graduation_rate_pct,
        count(distinct district_graduation_pct) as n_distinct_rates_in_report
    from outcomes
    group by all

)

select
    city,
    graduation_year,
    graduation_rate_pct,
    n_distinct_rates_in_report,
    report_year as source_report_year
from per_report
qualify row_number() over (
    partition by city, graduation_year order by report_year desc nulls last
) = 1
