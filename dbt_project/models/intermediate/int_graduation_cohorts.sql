-- 4-year graduation outcome per school and graduating class (graduation_year = the spring
-- the class was due to graduate) for every city, from the rows in scope (e.g. NYC: all
-- students, June outcomes; catalog `filters`):
--   graduation_rate_pct = graduates / cohort size x 100 where both are published (equal to
--   the published percent within its rounding, tested for NYC), else the published percent;
--   a cohort published by several reports keeps the latest report's value (later reports
--   may carry revisions); rows without a value (suppressed cohorts, schools without
--   graduates that year) are not values and are left out before that.
-- One name per school, from its most recent row, so a school keeps one area_name.
with outcomes as (

    select * from {{ ref('stg_graduation_outcomes') }}
    where excluded_by is null and school_id is not null and graduation_year is not null

),

valued as (

    select
        *,
        graduates is not null and cohort_size > 0 as has_counts,
        case
            when graduates is not null and cohort_size > 0 then graduates * 100.0 / cohort_size
            else graduation_pct
        end as graduation_rate_pct
    from outcomes

),

latest_per_cohort as (

    select * from valued
    where graduation_rate_pct is not null
    qualify row_number() over (
        partition by city, school_id, graduation_year
        order by report_year desc nulls last, dataset_priority asc
    ) = 1

),

school_names as (

    select city, school_id, school_name
    from outcomes
    where school_name is not null
    qualify row_number() over (
        partition by city, school_id
        order by report_year desc nulls last, graduation_year desc, dataset_priority asc
    ) = 1

)

select
    latest_per_cohort.city,
    latest_per_cohort.dataset,
    latest_per_cohort.school_id,
    school_names.school_name,
    latest_per_cohort.graduation_year,
    latest_per_cohort.graduation_rate_pct,
    latest_per_cohort.has_counts,
    latest_per_cohort.graduates,
    latest_per_cohort.cohort_size,
    latest_per_cohort.graduation_pct as published_graduation_pct,
    latest_per_cohort.district_graduation_pct,
    latest_per_cohort.report_year as source_report_year
from latest_per_cohort
inner join school_names using (city, school_id)
