-- Building permits issued and reported permit cost per 1,000 residents, by community area x
-- month and citywide x month, in the fct_indicator_values shape.
--
-- Counted: every permit by its issue date, whatever its type or current status (a permit
-- later cancelled or revoked was still issued that month).
-- Cost: the sum of indicator_cost_usd (int_building_permits): the reported cost, minus the
-- costs a reviewer excluded as entry errors (seed building_permit_cost_reviews). Permits
-- without a (usable) cost add 0 to the cost but still count as permits.
-- Area vs citywide rule (docs block "citywide_rule"): permits without a community area (7 in 2022)
-- are left out of the area values but counted in the citywide values, so the citywide
-- numerator can exceed the sum of the areas' numerators.
-- Months: every month from the first to the last month with an issued permit, for every
-- community area (a month without permits is a 0, not a gap).
with permits as (

    select * from {{ ref('int_building_permits') }}

),

months as (

    select cast(month_start as date) as month_start
    from (
        select unnest(generate_series(
            cast(date_trunc('month', min(issued_on)) as date),
            cast(date_trunc('month', max(issued_on)) as date),
            interval 1 month
        )) as month_start
        from permits
    )

),

permits_by_month as (

    select issued_month, community_area_id, indicator_cost_usd as reported_cost_usd
    from permits

),

community_areas as (

    select * from {{ ref('stg_chicago__community_areas') }}

),

area_totals as (

    select
        community_area_id,
        issued_month,
        count(*) as permit_count,
        coalesce(sum(reported_cost_usd), 0) as reported_cost_usd
    from permits_by_month
    where community_area_id is not null
    group by community_area_id, issued_month

),

area_values as (

    select
        'community_area' as area_type,
        cast(community_areas.community_area_id as varchar) as area_id,
        community_areas.community_area_name as area_name,
        months.month_start as period_start,
        coalesce(area_totals.permit_count, 0) as permit_count,
        coalesce(area_totals.reported_cost_usd, 0) as reported_cost_usd,
        population.population
    from community_areas
    cross join months
    left join area_totals
        on area_totals.community_area_id = community_areas.community_area_id
        and area_totals.issued_month = months.month_start
    -- inner join is safe: every community area has a population in every census (tested)
    inner join {{ ref('int_community_area_population') }} as population
        on population.community_area_id = community_areas.community_area_id
        and {{ census_vintage_applies('population', 'year(months.month_start)') }}

),

city_totals as (

    -- all permits, with or without a community area (see rule above)
    select
        issued_month,
        count(*) as permit_count,
        coalesce(sum(reported_cost_usd), 0) as reported_cost_usd
    from permits_by_month
    group by issued_month

),

city_values as (

    select
        'city' as area_type,
        'chicago' as area_id,
        'Chicago' as area_name,
        months.month_start as period_start,
        coalesce(city_totals.permit_count, 0) as permit_count,
        coalesce(city_totals.reported_cost_usd, 0) as reported_cost_usd,
        population.population
    from months
    left join city_totals on city_totals.issued_month = months.month_start
    inner join {{ ref('int_city_population') }} as population
        on {{ census_vintage_applies('population', 'year(months.month_start)') }}

),

all_values as (

    select * from area_values
    union all
    select * from city_values

),

long_form as (

    select
        area_type, area_id, area_name, period_start,
        'building_permits_rate' as indicator_id,
        cast(permit_count as double) as numerator,
        cast(population as double) as denominator
    from all_values

    union all

    select
        area_type, area_id, area_name, period_start,
        'building_permit_cost_rate' as indicator_id,
        cast(reported_cost_usd as double) as numerator,
        cast(population as double) as denominator
    from all_values

)

select
    'chicago' as city,
    area_type,
    area_id,
    area_name,
    indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    period_start,
    'month' as period_grain,
    numerator * 1000.0 / denominator as value,
    numerator,
    denominator
from long_form
