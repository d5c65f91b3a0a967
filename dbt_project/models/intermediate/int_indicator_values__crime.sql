-- Violent and property crime rates per 100,000 residents, by community area x month and
-- citywide x month, in the fct_indicator_values shape (unit is added by the fact table).
--
-- Area vs citywide rule (docs block "citywide_rule"): an incident without a
-- community area cannot be given to any area, so it is left out of the area rates, but it
-- happened in Chicago, so it IS counted in the citywide numerator. Citywide numerator =
-- all Part I incidents; sum of area numerators = those with a known area. (In the 2022
-- extract every incident has a community area, so both are equal today.)
--
-- Months: every month from the first to the last month with any reported crime, for every
-- community area and category, so a month without incidents is a 0 rate, not a gap.
with crimes as (

    select * from {{ ref('int_crimes_classified') }}

),

part_one_crimes as (

    -- crimes matching no crime_categories rule are not Part I offences: not counted here
    select * from crimes where crime_category is not null

),

months as (

    select cast(month_start as date) as month_start
    from (
        select unnest(generate_series(
            min(occurred_month), max(occurred_month), interval 1 month
        )) as month_start
        from crimes
    )

),

categories as (

    select distinct category as crime_category from {{ ref('crime_categories') }}

),

community_areas as (

    select * from {{ ref('stg_chicago__community_areas') }}

),

area_counts as (

    select community_area_id, occurred_month, crime_category, count(*) as crime_count
    from part_one_crimes
    where community_area_id is not null
    group by community_area_id, occurred_month, crime_category

),

area_rates as (

    select
        'community_area' as area_type,
        cast(community_areas.community_area_id as varchar) as area_id,
        community_areas.community_area_name as area_name,
        categories.crime_category,
        months.month_start as period_start,
        coalesce(area_counts.crime_count, 0) as numerator,
        population.population as denominator
    from community_areas
    cross join months
    cross join categories
    left join area_counts
        on area_counts.community_area_id = community_areas.community_area_id
        and area_counts.occurred_month = months.month_start
        and area_counts.crime_category = categories.crime_category
    -- inner join is safe: every community area has a population in every census (tested)
    inner join {{ ref('int_community_area_population') }} as population
        on population.community_area_id = community_areas.community_area_id
        and {{ census_vintage_applies('population', 'year(months.month_start)') }}

),

city_counts as (

    -- all Part I incidents, with or without a community area (see rule above)
    select occurred_month, crime_category, count(*) as crime_count
    from part_one_crimes
    group by occurred_month, crime_category

),

city_rates as (

    select
        'city' as area_type,
        'chicago' as area_id,
        'Chicago' as area_name,
        categories.crime_category,
        months.month_start as period_start,
        coalesce(city_counts.crime_count, 0) as numerator,
        population.population as denominator
    from months
    cross join categories
    left join city_counts
        on city_counts.occurred_month = months.month_start
        and city_counts.crime_category = categories.crime_category
    inner join {{ ref('int_city_population') }} as population
        on {{ census_vintage_applies('population', 'year(months.month_start)') }}

),

all_rates as (

    select * from area_rates
    union all
    select * from city_rates

)

select
    'chicago' as city,
    area_type,
    area_id,
    area_name,
    crime_category || '_crime_rate' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    period_start,
    'month' as period_grain,
    numerator * 100000.0 / denominator as value,
    numerator,
    denominator
from all_rates
