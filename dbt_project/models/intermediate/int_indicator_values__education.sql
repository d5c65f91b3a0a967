-- 4-year graduation rate (percent) per school and citywide (CPS district rate), per
-- graduating cohort, in the fct_indicator_values shape. period_start = January 1 of the
-- cohort's graduation year (the spring the class was due to graduate), e.g. the class of
-- 2022 -> 2022-01-01. The rate is published as a percent, so numerator/denominator are null.
with schools as (

    select * from {{ ref('int_school_graduation_rates') }}

),

district as (

    select * from {{ ref('int_district_graduation_rates') }}

),

school_values as (

    select
        'school' as area_type,
        school_id as area_id,
        school_name as area_name,
        cohort_year,
        graduation_rate_pct
    from schools

),

city_values as (

    select
        'city' as area_type,
        'chicago' as area_id,
        'Chicago' as area_name,
        cohort_year,
        graduation_rate_pct
    from district

),

all_values as (

    select * from school_values
    union all
    select * from city_values

)

select
    'chicago' as city,
    area_type,
    area_id,
    area_name,
    'graduation_rate_4yr' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    make_date(cohort_year, 1, 1) as period_start,
    'year' as period_grain,
    graduation_rate_pct as value,
    cast(null as double) as numerator,
    cast(null as double) as denominator
from all_values
