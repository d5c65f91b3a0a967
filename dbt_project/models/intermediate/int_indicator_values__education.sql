-- 4-year graduation rate (percent) per school and citywide, per graduating class, for every
-- city, in the fct_indicator_values shape. period_start = January 1 of the class's
-- graduation year (the class of 2022 -> 2022-01-01).
--   school:  int_graduation_cohorts; numerator / denominator = graduates / cohort size where
--            published, else null (a published percent);
--   city:    the district rate the publisher prints (int_district_graduation_rates), else
--            the sum of graduates over the sum of cohort sizes of the school cohorts with
--            published counts (students of suppressed small cohorts are in neither sum).
with schools as (

    select * from {{ ref('int_graduation_cohorts') }}

),

school_values as (

    select
        city,
        'school' as area_type,
        school_id as area_id,
        school_name as area_name,
        graduation_year,
        graduation_rate_pct as value,
        case when has_counts then cast(graduates as double) end as numerator,
        case when has_counts then cast(cohort_size as double) end as denominator
    from schools

),

published_city as (

    select city, graduation_year, graduation_rate_pct as value
    from {{ ref('int_district_graduation_rates') }}

),

counted_city as (

    select
        city,
        graduation_year,
        sum(graduates) * 100.0 / sum(cohort_size) as value,
        cast(sum(graduates) as double) as numerator,
        cast(sum(cohort_size) as double) as denominator
    from schools
    where has_counts
    group by all

),

city_values as (

    select
        coalesce(published_city.city, counted_city.city) as city,
        'city' as area_type,
        coalesce(published_city.city, counted_city.city) as area_id,
        cities.city_name as area_name,
        coalesce(published_city.graduation_year, counted_city.graduation_year) as graduation_year,
        coalesce(published_city.value, counted_city.value) as value,
        case when published_city.value is null then counted_city.numerator end as numerator,
        case when published_city.value is null then counted_city.denominator end as denominator
    from published_city
    full outer join counted_city using (city, graduation_year)
    inner join {{ ref('stg_cities') }} as cities
        on cities.city = coalesce(published_city.city, counted_city.city)

),

all_values as (

    select * from school_values
    union all
    select * from city_values

)

select
    city,
    area_type,
    area_id,
    area_name,
    'graduation_rate_4yr' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    make_date(graduation_year, 1, 1) as period_start,
    'year' as period_grain,
    value,
    numerator,
    denominator,
    cast(null as integer) as population_year,
    cast(null as varchar) as population_source,
    cast(null as varchar) as population_vintage,
    cast(null as varchar) as source_dataset
from all_values
