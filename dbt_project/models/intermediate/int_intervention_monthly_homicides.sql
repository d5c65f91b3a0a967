-- Homicides by month, for the intervention evaluations only: the indicator homicide_rate is
-- published by calendar year (int_indicator_values__crime), but an effort's before and after
-- need months. Same records and rules as the yearly rate: every city whose catalog has an
-- incident dataset feeding homicide_rate (its `indicators`), each area of the dataset's area
-- type and citywide; homicides = records whose offence rule is a criminal homicide
-- (int_crime_incidents_classified.counts_as_homicide), one per victim where the file lists
-- victims; every complete month of the dataset (a month without homicides is 0); the citywide
-- count includes records without a known area; the first dataset listed wins. Areas without
-- population keep their counts (the designs model counts) with a null rate.
with incidents as (

    select * from {{ ref('int_crime_incidents_classified') }}
    where counts_as_homicide

),

datasets as (

    -- incident datasets that feed homicide_rate (catalog `indicators`, or all of them) and
    -- whose offence rules name criminal homicide, with the months they cover
    select distinct coverage.city, coverage.dataset, coverage.dataset_priority,
        coverage.first_month, coverage.last_month, staged.area_type
    from {{ ref('int_dataset_coverage') }} as coverage
    inner join (
        select distinct city, dataset, area_type, offenses_file, dataset_indicators
        from {{ ref('stg_crime_incidents') }}
    ) as staged using (city, dataset)
    inner join {{ ref('stg_offense_rules') }} as rules
        on rules.city = staged.city and rules.offenses_file = staged.offenses_file
        and rules.ucr_offense = 'criminal homicide'
    where staged.dataset_indicators is null
       or list_contains(staged.dataset_indicators, 'homicide_rate')

),

months as (

    select
        datasets.*,
        cast(unnest(generate_series(datasets.first_month, datasets.last_month, interval 1 month)) as date)
            as month_start
    from datasets

),

area_counts as (

    select city, dataset, area_type, area_id, occurred_month, count(*) as homicides
    from incidents
    where area_id is not null and area_type <> 'city'
    group by all

),

area_rates as (

    select
        months.city, months.dataset, months.dataset_priority,
        areas.area_type, areas.area_id, areas.area_name,
        months.month_start as period_start,
        coalesce(area_counts.homicides, 0) as numerator,
        population.population as denominator,
        population.year as population_year,
        population.population_source,
        population.estimate_type as population_vintage
    from months
    inner join {{ ref('int_areas') }} as areas
        on areas.city = months.city and areas.area_type = months.area_type
    left join area_counts
        on area_counts.city = months.city
        and area_counts.dataset = months.dataset
        and area_counts.area_type = areas.area_type
        and area_counts.area_id = areas.area_id
        and area_counts.occurred_month = months.month_start
    left join {{ ref('int_area_population') }} as population
        on population.city = areas.city
        and population.area_type = areas.area_type
        and population.area_id = areas.area_id
        and {{ population_applies('population', 'year(months.month_start)') }}

),

city_counts as (

    select city, dataset, occurred_month, count(*) as homicides
    from incidents
    group by all

),

city_rates as (

    select
        months.city, months.dataset, months.dataset_priority,
        'city' as area_type, months.city as area_id, population.city_name as area_name,
        months.month_start as period_start,
        coalesce(city_counts.homicides, 0) as numerator,
        population.population as denominator,
        population.year as population_year,
        population.population_source,
        population.population_vintage
    from (select distinct city, dataset, dataset_priority, month_start from months) as months
    left join city_counts
        on city_counts.city = months.city
        and city_counts.dataset = months.dataset
        and city_counts.occurred_month = months.month_start
    left join {{ ref('int_city_population') }} as population
        on population.city = months.city
        and {{ population_applies('population', 'year(months.month_start)') }}

)

select
    city,
    area_type,
    area_id,
    area_name,
    'homicide_rate' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    period_start,
    'month' as period_grain,
    numerator * 100000.0 / denominator as value,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator
from (
    select * from area_rates
    union all
    select * from city_rates
) as rates
qualify row_number() over (
    partition by city, area_type, area_id, period_start order by dataset_priority
) = 1
