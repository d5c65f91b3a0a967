-- Violent and property crime rates per 100,000 residents, by borough x year and citywide x
-- year, from the DCJS annual index crime counts (the only NYC crime counts in the warehouse
-- that go back to 1990; no monthly split is published, so the grain is 'year', period_start
-- = January 1). Denominator = population estimate of the same year (int_nyc_*_population).
-- Citywide numerator = sum of the five boroughs (the DCJS file has no "unknown borough"
-- records), citywide denominator = sum of their populations.
-- Population joins are LEFT joins: a missing population leaves a null value that fails the
-- not_null test of int_indicator_values__nyc instead of silently dropping the row.
with borough_counts as (

    select * from {{ ref('int_nyc_index_crimes') }}

),

city_counts as (

    select
        year,
        sum(violent_count) as violent_count,
        sum(property_count) as property_count
    from borough_counts
    group by year

),

borough_values as (

    select
        'borough' as area_type,
        borough_counts.area_id,
        borough_counts.area_name,
        borough_counts.year,
        borough_counts.violent_count,
        borough_counts.property_count,
        population.population
    from borough_counts
    left join {{ ref('int_nyc_borough_population') }} as population
        on population.area_id = borough_counts.area_id
        and population.year = borough_counts.year

),

city_values as (

    select
        'city' as area_type,
        'nyc' as area_id,
        'New York City' as area_name,
        city_counts.year,
        city_counts.violent_count,
        city_counts.property_count,
        population.population
    from city_counts
    left join {{ ref('int_nyc_city_population') }} as population
        on population.year = city_counts.year

),

all_values as (

    select * from borough_values
    union all
    select * from city_values

),

long_form as (

    select
        area_type, area_id, area_name, year,
        'violent_crime_rate' as indicator_id,
        cast(violent_count as double) as numerator,
        cast(population as double) as denominator
    from all_values

    union all

    select
        area_type, area_id, area_name, year,
        'property_crime_rate' as indicator_id,
        cast(property_count as double) as numerator,
        cast(population as double) as denominator
    from all_values

)

select
    area_type,
    area_id,
    area_name,
    indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    make_date(year, 1, 1) as period_start,
    'year' as period_grain,
    numerator * 100000.0 / denominator as value,
    numerator,
    denominator
from long_form
