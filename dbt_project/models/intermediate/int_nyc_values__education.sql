-- 4-year graduation rate (percent) by school and citywide per cohort, all students, June
-- outcomes (int_nyc_graduation_cohorts; docs block nyc_graduation_rule).
-- period_start = January 1 of the graduation year (cohort entering 9th grade + 4: cohort 2006
-- -> class of 2010 -> 2010-01-01), as for Chicago.
-- School values: graduates / cohort size x 100 (equal to the published percent within its
-- rounding, tested). Suppressed school cohorts have no value and no row.
-- Citywide value: sum of graduates / sum of cohort sizes over the school cohorts whose counts
-- are published; students of suppressed (small) cohorts are in neither sum.
with cohorts as (

    select * from {{ ref('int_nyc_graduation_cohorts') }}
    where not is_suppressed

),

school_values as (

    select
        'school' as area_type,
        school_id as area_id,
        school_name as area_name,
        graduation_year,
        cast(graduates as double) as numerator,
        cast(cohort_size as double) as denominator
    from cohorts

),

city_values as (

    select
        'city' as area_type,
        'nyc' as area_id,
        'New York City' as area_name,
        graduation_year,
        cast(sum(graduates) as double) as numerator,
        cast(sum(cohort_size) as double) as denominator
    from cohorts
    group by graduation_year

),

all_values as (

    select * from school_values
    union all
    select * from city_values

)

select
    area_type,
    area_id,
    area_name,
    'graduation_rate_4yr' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    make_date(graduation_year, 1, 1) as period_start,
    'year' as period_grain,
    numerator * 100.0 / denominator as value,
    numerator,
    denominator
from all_values
