-- Every published NYC school cohort (all students, June outcome) is accounted for: it is
-- either a school value of graduation_rate_4yr (same graduates / cohort size) or a
-- suppressed cohort ('s') left out on purpose (docs block nyc_graduation_rule). Fails with
-- the cohorts that are neither, or that are both. A fixed count is not asserted, so the test
-- survives a refreshed file; the suppressed count is in int_nyc_graduation_cohorts.
with cohorts as (

    select * from {{ ref('int_nyc_graduation_cohorts') }}

),

school_values as (

    select * from {{ ref('int_indicator_values__nyc') }}
    where indicator_id = 'graduation_rate_4yr' and area_type = 'school'

)

select
    coalesce(cohorts.school_id, school_values.area_id) as school_id,
    coalesce(make_date(cohorts.graduation_year, 1, 1), school_values.period_start) as period_start,
    cohorts.is_suppressed,
    school_values.value
from cohorts
full outer join school_values
    on school_values.area_id = cohorts.school_id
    and school_values.period_start = make_date(cohorts.graduation_year, 1, 1)
where cohorts.school_id is null                                   -- value without a cohort
   or (cohorts.is_suppressed and school_values.area_id is not null) -- suppressed but valued
   or (not cohorts.is_suppressed and (
           school_values.area_id is null                          -- published but missing
           or school_values.numerator is distinct from cohorts.graduates
           or school_values.denominator is distinct from cohorts.cohort_size
       ))
