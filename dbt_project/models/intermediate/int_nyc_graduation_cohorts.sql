-- 4-year graduation outcome per NYC high school and cohort, all students ('Total Cohort'),
-- June outcomes only: the '2006 Aug' rows (the 2006 cohort counted again in August, after
-- summer graduations) are left out so that every cohort is measured the same way, as the
-- cohorts 2001-2005 only have a June outcome (docs block nyc_graduation_rule).
-- graduation_year = cohort_year + 4: the spring the class entering 9th grade in cohort_year
-- was due to graduate (cohort 2001 = class of 2005), the convention Chicago's rates use.
-- Suppressed rows (graduates 's', cohorts of 20 or fewer) are KEPT here, flagged, so they
-- can be counted; the indicator leaves them out.
with outcomes as (

    select * from {{ ref('stg_nyc__graduation_outcomes') }}

)

select
    school_id,
    school_name,
    cohort_year,
    cohort_year + 4 as graduation_year,
    cohort_size,
    graduates,
    graduation_pct as published_graduation_pct,
    graduates is null as is_suppressed
from outcomes
where demographic = 'Total Cohort'
  and not is_august_outcome
