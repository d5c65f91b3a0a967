-- CPS district-wide 4-year graduation rate per graduating cohort (the citywide value).
-- Every school row of a report repeats the district rate; n_distinct_rates_in_report checks
-- that they agree (tested = 1). Same Year_1/Year_2 -> cohort year rule and same "latest
-- report wins" rule as int_school_graduation_rates.
with reports as (

    select * from {{ ref('stg_chicago__school_progress_reports') }}

),

cohorts as (

    select
        progress_report_year,
        school_year,
        progress_report_year - 1 as cohort_year,
        graduation_4_year_cps_pct_year_1 as graduation_rate_pct
    from reports

    union all

    select
        progress_report_year,
        school_year,
        progress_report_year as cohort_year,
        graduation_4_year_cps_pct_year_2 as graduation_rate_pct
    from reports

),

per_report as (

    select
        progress_report_year,
        school_year,
        cohort_year,
        min(graduation_rate_pct) as graduation_rate_pct,
        count(distinct graduation_rate_pct) as n_distinct_rates_in_report
    from cohorts
    where graduation_rate_pct is not null
    group by progress_report_year, school_year, cohort_year

)

select
    cohort_year,
    graduation_rate_pct,
    n_distinct_rates_in_report,
    progress_report_year as source_progress_report_year,
    school_year as source_school_year
from per_report
qualify row_number() over (partition by cohort_year order by progress_report_year desc) = 1
