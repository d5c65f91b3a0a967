-- Building permits issued and reported permit cost per 1,000 residents, for every city with
-- a permits dataset, by area x month and citywide x month, in the fct_indicator_values shape.
--
-- Counted: every permit by its issue date, whatever its type or current status (a permit
-- later cancelled or revoked was still issued that month).
-- Cost: the sum of indicator_cost_usd (int_building_permits): the reported cost, minus the
-- costs a reviewer excluded as entry errors (seed building_permit_cost_reviews). Permits
-- without a (usable) cost add 0 to the cost but still count as permits.
-- Area vs citywide rule (docs block "citywide_rule"): permits without a known area are left
-- out of the area values but counted in the citywide values, so the citywide numerator can
-- exceed the sum of the areas' numerators.
-- Months: every complete month of the dataset (int_dataset_coverage), for every area (a
-- month without permits is a 0, not a gap).
with permits as (

    select * from {{ ref('int_building_permits') }}

),

months as (

    select
        coverage.city, coverage.dataset, coverage.dataset_priority, staged.area_type,
        cast(unnest(generate_series(coverage.first_month, coverage.last_month, interval 1 month)) as date)
            as month_start
    from {{ ref('int_dataset_coverage') }} as coverage
    inner join (
        select distinct city, dataset, area_type, dataset_indicators from {{ ref('stg_permits') }}
    ) as staged using (city, dataset)

),

area_totals as (

    select
        city, dataset, area_type, area_id, issued_month,
        count(*) as permit_count,
        coalesce(sum(indicator_cost_usd), 0) as reported_cost_usd
    from permits
    where area_id is not null and area_type <> 'city'
    group by all

),

area_values as (

    select
        months.city, months.dataset, months.dataset_priority,
        areas.area_type, areas.area_id, areas.area_name,
        months.month_start as period_start,
        coalesce(area_totals.permit_count, 0) as permit_count,
        coalesce(area_totals.reported_cost_usd, 0) as reported_cost_usd,
        population.population,
        population.year as population_year,
        population.population_source,
        population.estimate_type as population_vintage
    from months
    inner join {{ ref('int_areas') }} as areas
        on areas.city = months.city and areas.area_type = months.area_type
    left join area_totals
        on area_totals.city = months.city
        and area_totals.dataset = months.dataset
        and area_totals.area_type = areas.area_type
        and area_totals.area_id = areas.area_id
        and area_totals.issued_month = months.month_start
    -- an area without population has no rate (listed in fct_indicator_coverage)
    inner join {{ ref('int_area_population') }} as population
        on population.city = areas.city
        and population.area_type = areas.area_type
        and population.area_id = areas.area_id
        and {{ population_applies('population', 'year(months.month_start)') }}

),

city_totals as (

    -- all permits, with or without a known area (see rule above)
    select
        city, dataset, issued_month,
        count(*) as permit_count,
        coalesce(sum(indicator_cost_usd), 0) as reported_cost_usd
    from permits
    group by all

),

city_values as (

    select
        months.city, months.dataset, months.dataset_priority,
        'city' as area_type, months.city as area_id, population.city_name as area_name,
        months.month_start as period_start,
        coalesce(city_totals.permit_count, 0) as permit_count,
        coalesce(city_totals.reported_cost_usd, 0) as reported_cost_usd,
        population.population,
        population.year as population_year,
        population.population_source,
        population.population_vintage
    from months
    left join city_totals
        on city_totals.city = months.city
        and city_totals.dataset = months.dataset
        and city_totals.issued_month = months.month_start
    inner join {{ ref('int_city_population') }} as population
        on population.city = months.city
        and {{ population_applies('population', 'year(months.month_start)') }}

),

all_values as (

    select * from area_values
    union all
    select * from city_values

),

long_form as (

    select
        *, 'building_permits_rate' as indicator_id,
        cast(permit_count as double) as numerator
    from all_values

    union all

    select
        *, 'building_permit_cost_rate' as indicator_id,
        cast(reported_cost_usd as double) as numerator
    from all_values

)

select
    long_form.city,
    long_form.area_type,
    long_form.area_id,
    long_form.area_name,
    long_form.indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    long_form.period_start,
    'month' as period_grain,
    long_form.numerator * 1000.0 / long_form.population as value,
    long_form.numerator,
    cast(long_form.population as double) as denominator,
    long_form.population_year,
    long_form.population_source,
    long_form.population_vintage,
    long_form.dataset as source_dataset
from long_form
inner join (
    select distinct city, dataset, dataset_indicators from {{ ref('stg_permits') }}
) as staged using (city, dataset)
where staged.dataset_indicators is null
   or list_contains(staged.dataset_indicators, long_form.indicator_id)
qualify row_number() over (
    partition by long_form.city, long_form.area_type, long_form.area_id, long_form.indicator_id,
        long_form.period_start
    order by long_form.dataset_priority
) = 1
