-- Budget appropriations in the fct_indicator_values shape, per fiscal year (Chicago's fiscal
-- year is the calendar year, so period_start = January 1 of the fiscal year):
--   appropriations_total        citywide, breakdown 'all' (sum of departments) and by department
--   appropriations_per_resident citywide: total / city population (sum of community areas of
--                               the applicable census: 2010 for FY2019)
with departments as (

    select * from {{ ref('int_appropriations_by_department') }}

),

city_totals as (

    select fiscal_year, sum(amount_usd) as amount_usd
    from departments
    group by fiscal_year

),

by_department as (

    select
        'appropriations_total' as indicator_id,
        'department' as breakdown_type,
        department_name as breakdown_value,
        fiscal_year,
        cast(amount_usd as double) as value,
        cast(null as double) as numerator,
        cast(null as double) as denominator
    from departments

),

total as (

    select
        'appropriations_total' as indicator_id,
        'all' as breakdown_type,
        'all' as breakdown_value,
        fiscal_year,
        cast(amount_usd as double) as value,
        cast(null as double) as numerator,
        cast(null as double) as denominator
    from city_totals

),

per_resident as (

    select
        'appropriations_per_resident' as indicator_id,
        'all' as breakdown_type,
        'all' as breakdown_value,
        city_totals.fiscal_year,
        cast(city_totals.amount_usd as double) / population.population as value,
        cast(city_totals.amount_usd as double) as numerator,
        cast(population.population as double) as denominator
    from city_totals
    inner join {{ ref('int_city_population') }} as population
        on {{ census_vintage_applies('population', 'city_totals.fiscal_year') }}

),

all_values as (

    select * from by_department
    union all
    select * from total
    union all
    select * from per_resident

)

select
    'chicago' as city,
    'city' as area_type,
    'chicago' as area_id,
    'Chicago' as area_name,
    indicator_id,
    breakdown_type,
    breakdown_value,
    make_date(fiscal_year, 1, 1) as period_start,
    'year' as period_grain,
    value,
    numerator,
    denominator
from all_values
