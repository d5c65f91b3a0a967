-- Crime rates per 100,000 residents for every city, in the fct_indicator_values shape:
--   from incidents (int_crime_incidents_classified), by month: one indicator per offence
--   category (violent_crime_rate, property_crime_rate, shooting_incidents_rate), for every
--   area of the dataset's area type and citywide; and by calendar year, homicide_rate
--   (criminal homicides, one per victim where the file lists victims), complete years only;
--   from published annual counts (int_crime_counts), by year: violent and property crime,
--   and homicides where published.
--
-- Area vs citywide rule (docs block "citywide_rule"): an incident whose area is unknown
-- cannot be given to any area, so it is left out of the area rates, but it happened in the
-- city, so it IS counted in the citywide numerator. Published counts: the city's own row if
-- the file has one, else the sum of its areas.
-- Months: every complete month of the dataset (int_dataset_coverage), for every area and
-- category the dataset feeds, so a month without incidents is a 0 rate, not a gap.
-- Denominators: int_area_population / int_city_population, the figure that applies to the
-- period's year (macro population_applies). An area type without population has no area
-- rates (fct_indicator_coverage says so); the city rate then still uses the city's
-- population (its own rule, or the Census).
-- Two datasets of a city feeding the same indicator and period: the one listed first in
-- the catalog wins.
{%- set categories = civic_offense_categories() %}
with incidents as (

    select * from {{ ref('int_crime_incidents_classified') }}
    where crime_category is not null

),

coverage as (

    select * from {{ ref('int_dataset_coverage') }}

),

datasets as (

    -- each incident dataset with the categories its rules give and it feeds
    select distinct
        coverage.city, coverage.dataset, coverage.dataset_priority, coverage.first_month,
        coverage.last_month, staged.area_type, rules.category as crime_category
    from coverage
    inner join (
        select distinct city, dataset, area_type, offenses_file, dataset_indicators
        from {{ ref('stg_crime_incidents') }}
    ) as staged using (city, dataset)
    inner join {{ ref('stg_offense_rules') }} as rules
        on rules.city = staged.city and rules.offenses_file = staged.offenses_file
    where staged.dataset_indicators is null
       or list_contains(
           staged.dataset_indicators,
           case rules.category
               {%- for name, indicator in categories.items() %}
               when {{ civic_literal(name) }} then {{ civic_literal(indicator) }}
               {%- endfor %}
           end
       )

),

months as (

    select
        datasets.*,
        cast(unnest(generate_series(datasets.first_month, datasets.last_month, interval 1 month)) as date)
            as month_start
    from datasets

),

area_counts as (

    select city, dataset, area_type, area_id, occurred_month, crime_category, count(*) as crime_count
    from incidents
    where area_id is not null and area_type <> 'city'
    group by all

),

area_rates as (

    select
        months.city, months.dataset, months.dataset_priority,
        areas.area_type, areas.area_id, areas.area_name,
        months.crime_category,
        months.month_start as period_start,
        coalesce(area_counts.crime_count, 0) as numerator,
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
        and area_counts.crime_category = months.crime_category
    -- an area without population has no rate (listed in fct_indicator_coverage)
    inner join {{ ref('int_area_population') }} as population
        on population.city = areas.city
        and population.area_type = areas.area_type
        and population.area_id = areas.area_id
        and {{ population_applies('population', 'year(months.month_start)') }}

),

city_counts as (

    -- all incidents of the city, with or without a known area (see rule above)
    select city, dataset, occurred_month, crime_category, count(*) as crime_count
    from incidents
    group by all

),

city_rates as (

    select
        months.city, months.dataset, months.dataset_priority,
        'city' as area_type, months.city as area_id, population.city_name as area_name,
        months.crime_category,
        months.month_start as period_start,
        coalesce(city_counts.crime_count, 0) as numerator,
        population.population as denominator,
        population.year as population_year,
        population.population_source,
        population.population_vintage
    from (select distinct city, dataset, dataset_priority, crime_category, month_start from months) as months
    left join city_counts
        on city_counts.city = months.city
        and city_counts.dataset = months.dataset
        and city_counts.occurred_month = months.month_start
        and city_counts.crime_category = months.crime_category
    inner join {{ ref('int_city_population') }} as population
        on population.city = months.city
        and {{ population_applies('population', 'year(months.month_start)') }}

),

monthly as (

    select
        *,
        case crime_category
            {%- for name, indicator in categories.items() %}
            when {{ civic_literal(name) }} then {{ civic_literal(indicator) }}
            {%- endfor %}
        end as indicator_id,
        'month' as period_grain
    from (
        select * from area_rates
        union all
        select * from city_rates
    ) as rates

),

homicide_datasets as (

    -- incident datasets whose offence rules name criminal homicide and that feed homicides
    select distinct coverage.city, coverage.dataset, coverage.dataset_priority,
        coverage.first_year, coverage.last_year, staged.area_type
    from coverage
    inner join (
        select distinct city, dataset, area_type, offenses_file, dataset_indicators
        from {{ ref('stg_crime_incidents') }}
    ) as staged using (city, dataset)
    inner join {{ ref('stg_offense_rules') }} as rules
        on rules.city = staged.city and rules.offenses_file = staged.offenses_file
        and rules.ucr_offense = 'criminal homicide'
    where coverage.first_year <= coverage.last_year
      and (staged.dataset_indicators is null
           or list_contains(staged.dataset_indicators, 'homicide_rate'))

),

homicide_years as (

    select *, cast(unnest(generate_series(first_year, last_year)) as integer) as year
    from homicide_datasets

),

homicides as (

    select city, dataset, area_type, area_id, year(occurred_on) as year
    from {{ ref('int_crime_incidents_classified') }}
    where counts_as_homicide

),

homicide_area_rates as (

    select
        years.city, years.dataset, years.dataset_priority,
        areas.area_type, areas.area_id, areas.area_name,
        null as crime_category,
        make_date(years.year, 1, 1) as period_start,
        coalesce(counts.n, 0) as numerator,
        population.population as denominator,
        population.year as population_year,
        population.population_source,
        population.estimate_type as population_vintage,
        'homicide_rate' as indicator_id,
        'year' as period_grain
    from homicide_years as years
    inner join {{ ref('int_areas') }} as areas
        on areas.city = years.city and areas.area_type = years.area_type
    left join (
        select city, dataset, area_type, area_id, year, count(*) as n
        from homicides where area_id is not null and area_type <> 'city'
        group by all
    ) as counts
        on counts.city = years.city and counts.dataset = years.dataset
        and counts.area_type = areas.area_type and counts.area_id = areas.area_id
        and counts.year = years.year
    inner join {{ ref('int_area_population') }} as population
        on population.city = areas.city
        and population.area_type = areas.area_type
        and population.area_id = areas.area_id
        and {{ population_applies('population', 'years.year') }}

),

homicide_city_rates as (

    select
        years.city, years.dataset, years.dataset_priority,
        'city' as area_type, years.city as area_id, population.city_name as area_name,
        null as crime_category,
        make_date(years.year, 1, 1) as period_start,
        coalesce(counts.n, 0) as numerator,
        population.population as denominator,
        population.year as population_year,
        population.population_source,
        population.population_vintage,
        'homicide_rate' as indicator_id,
        'year' as period_grain
    from homicide_years as years
    left join (
        select city, dataset, year, count(*) as n from homicides group by all
    ) as counts
        on counts.city = years.city and counts.dataset = years.dataset
        and counts.year = years.year
    inner join {{ ref('int_city_population') }} as population
        on population.city = years.city
        and {{ population_applies('population', 'years.year') }}

),

published_counts as (

    select * from {{ ref('int_crime_counts') }}

),

published_long as (

    select city, dataset, dataset_priority, area_type, area_id, area_name, year,
        'violent_crime_rate' as indicator_id, violent_count as crime_count
    from published_counts
    where dataset_indicators is null or list_contains(dataset_indicators, 'violent_crime_rate')
    union all
    select city, dataset, dataset_priority, area_type, area_id, area_name, year,
        'property_crime_rate', property_count
    from published_counts
    where dataset_indicators is null or list_contains(dataset_indicators, 'property_crime_rate')
    union all
    select city, dataset, dataset_priority, area_type, area_id, area_name, year,
        'homicide_rate', homicide_count
    from published_counts
    where homicide_count is not null
      and (dataset_indicators is null or list_contains(dataset_indicators, 'homicide_rate'))

),

published_city as (

    -- the city's own row where published, else the sum of its areas
    select city, dataset, dataset_priority, year, indicator_id, sum(crime_count) as crime_count
    from published_long
    where area_type = 'city'
       or not exists (
           select 1 from published_long as own
           where own.city = published_long.city and own.dataset = published_long.dataset
             and own.year = published_long.year and own.indicator_id = published_long.indicator_id
             and own.area_type = 'city'
       )
    group by all

),

annual as (

    select
        counts.city, counts.dataset, counts.dataset_priority,
        counts.area_type, counts.area_id, counts.area_name,
        null as crime_category,
        make_date(counts.year, 1, 1) as period_start,
        counts.crime_count as numerator,
        population.population as denominator,
        population.year as population_year,
        population.population_source,
        population.estimate_type as population_vintage,
        counts.indicator_id,
        'year' as period_grain
    from published_long as counts
    inner join {{ ref('int_area_population') }} as population
        on population.city = counts.city
        and population.area_type = counts.area_type
        and population.area_id = counts.area_id
        and {{ population_applies('population', 'counts.year') }}
    where counts.area_type <> 'city'

    union all

    select
        counts.city, counts.dataset, counts.dataset_priority,
        'city', counts.city, population.city_name,
        null,
        make_date(counts.year, 1, 1),
        counts.crime_count,
        population.population,
        population.year,
        population.population_source,
        population.population_vintage,
        counts.indicator_id,
        'year'
    from published_city as counts
    inner join {{ ref('int_city_population') }} as population
        on population.city = counts.city
        and {{ population_applies('population', 'counts.year') }}

),

all_rates as (

    select * from monthly
    union all
    select * from homicide_area_rates
    union all
    select * from homicide_city_rates
    union all
    select * from annual

)

select
    city,
    area_type,
    area_id,
    area_name,
    indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    period_start,
    period_grain,
    numerator * 100000.0 / denominator as value,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    population_year,
    population_source,
    population_vintage,
    dataset as source_dataset
from all_rates
-- one dataset per city, indicator, area and period: the first listed in the catalog
qualify row_number() over (
    partition by city, area_type, area_id, indicator_id, period_grain, period_start
    order by dataset_priority
) = 1
