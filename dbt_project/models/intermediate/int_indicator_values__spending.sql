-- City spending in the fct_indicator_values shape, per fiscal year (period_start = January 1
-- of the year the fiscal year ends in, year grain), for each kind a city publishes:
--   <kind>_total        citywide, breakdown 'all' (sum of departments) and by department
--   <kind>_per_resident citywide: total / city population of the year the fiscal year
--                       starts in (catalog fiscal_year_start_month: Chicago's FY2019 starts
--                       January 2019 -> its 2010 census rule; NYC's FY2023 starts July 2022
--                       -> the 2022 estimate), by the city's population rule
-- where kind is appropriations (a budget ordinance) or expenditures (actuals).
with departments as (

    select * from {{ ref('int_spending_by_department') }}

),

cities as (

    select * from {{ ref('stg_cities') }}

),

city_totals as (

    select
        departments.city, departments.dataset, departments.dataset_priority,
        departments.spending_kind, departments.fiscal_year,
        departments.fiscal_year - case when cities.fiscal_year_start_month > 1 then 1 else 0 end
            as starts_in_year,
        sum(departments.amount_usd) as amount_usd
    from departments
    inner join cities using (city)
    group by all

),

by_department as (

    select
        city, dataset, dataset_priority, spending_kind, fiscal_year,
        spending_kind || '_total' as indicator_id,
        'department' as breakdown_type,
        department_name as breakdown_value,
        cast(amount_usd as double) as value,
        cast(null as double) as numerator,
        cast(null as double) as denominator,
        cast(null as integer) as population_year,
        cast(null as varchar) as population_source,
        cast(null as varchar) as population_vintage
    from departments

),

total as (

    select
        city, dataset, dataset_priority, spending_kind, fiscal_year,
        spending_kind || '_total' as indicator_id,
        'all' as breakdown_type,
        'all' as breakdown_value,
        cast(amount_usd as double) as value,
        cast(null as double) as numerator,
        cast(null as double) as denominator,
        cast(null as integer) as population_year,
        cast(null as varchar) as population_source,
        cast(null as varchar) as population_vintage
    from city_totals

),

per_resident as (

    select
        city_totals.city, city_totals.dataset, city_totals.dataset_priority,
        city_totals.spending_kind, city_totals.fiscal_year,
        city_totals.spending_kind || '_per_resident' as indicator_id,
        'all' as breakdown_type,
        'all' as breakdown_value,
        cast(city_totals.amount_usd as double) / population.population as value,
        cast(city_totals.amount_usd as double) as numerator,
        cast(population.population as double) as denominator,
        population.year as population_year,
        population.population_source,
        population.population_vintage
    from city_totals
    inner join {{ ref('int_city_population') }} as population
        on population.city = city_totals.city
        and {{ population_applies('population', 'city_totals.starts_in_year') }}

),

all_values as (

    select * from by_department
    union all
    select * from total
    union all
    select * from per_resident

)

select
    all_values.city,
    'city' as area_type,
    all_values.city as area_id,
    cities.city_name as area_name,
    all_values.indicator_id,
    all_values.breakdown_type,
    all_values.breakdown_value,
    make_date(all_values.fiscal_year, 1, 1) as period_start,
    'year' as period_grain,
    all_values.value,
    all_values.numerator,
    all_values.denominator,
    all_values.population_year,
    all_values.population_source,
    all_values.population_vintage,
    all_values.dataset as source_dataset
from all_values
inner join cities using (city)
-- one dataset per city, indicator, breakdown and year: the first listed in the catalog
qualify row_number() over (
    partition by all_values.city, all_values.indicator_id, all_values.breakdown_type,
        all_values.breakdown_value, all_values.fiscal_year
    order by all_values.dataset_priority
) = 1
