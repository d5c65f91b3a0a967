-- School 4-year graduation rate per school and graduating cohort.
--
-- Each progress report publishes two cohorts, Year_1 and Year_2. Checked on the data:
-- Year_2 of a report equals Year_1 of the next year's report for every school with both
-- (SY1617->SY1718: 129/129, SY1718->SY1819: 136/136, SY2122->SY2223: 139/139 equal;
-- the reverse pairing matches ~1 %). So Year_1 is the OLDER cohort and Year_2 the MORE
-- RECENT one. With the data manifest (SY2223 reports 2021 and 2022), for a report whose
-- progress_report_year is R (the school year R/R+1):
--     Year_1 = class graduating in spring R - 1,  Year_2 = class graduating in spring R.
-- The cohort year is the spring graduation year. The class of 2019 is in no report (there
-- are no SY1920 / SY2021 files).
--
-- A cohort published by two reports keeps the latest report's value (identical in this
-- data, but later reports may carry revisions). Null rates (schools without graduates in
-- that cohort, e.g. elementary or new schools) are not values and are dropped before that.
with reports as (

    select * from {{ ref('stg_chicago__school_progress_reports') }}

),

cohorts as (

    select
        school_id,
        progress_report_year,
        school_year,
        progress_report_year - 1 as cohort_year,
        graduation_4_year_school_pct_year_1 as graduation_rate_pct
    from reports

    union all

    select
        school_id,
        progress_report_year,
        school_year,
        progress_report_year as cohort_year,
        graduation_4_year_school_pct_year_2 as graduation_rate_pct
    from reports

),

latest_report_per_cohort as (

    select *
    from cohorts
    where graduation_rate_pct is not null
    qualify row_number() over (
        partition by school_id, cohort_year
        order by progress_report_year desc
    ) = 1

),

-- One name per school (from its most recent report), so a school keeps one area_name
-- across periods even if it was renamed.
school_names as (

    select school_id, coalesce(long_name, short_name) as school_name
    from reports
    qualify row_number() over (partition by school_id order by progress_report_year desc) = 1

)

select
    latest_report_per_cohort.school_id,
    school_names.school_name,
    latest_report_per_cohort.cohort_year,
    latest_report_per_cohort.graduation_rate_pct,
    latest_report_per_cohort.progress_report_year as source_progress_report_year,
    latest_report_per_cohort.school_year as source_school_year
from latest_report_per_cohort
inner join school_names using (school_id)
