-- What each city's data give at each kind of area, and what is left out and why: one row
-- per city x indicator x area type that its records (or published counts) cover. An area
-- type whose areas have no population gets no rates ('left_out'), but its events are still
-- counted here (events_in_areas), so the counts stay visible; some areas without population
-- make it 'partial'. Indicators without records by area (published rates, budgets) are listed
-- at the level they are published.
with incident_events as (

    select city, area_type, area_id,
        case crime_category
            {%- for name, indicator in civic_offense_categories().items() %}
            when {{ civic_literal(name) }} then {{ civic_literal(indicator) }}
            {%- endfor %}
        end as indicator_id,
        count(*) as events
    from {{ ref('int_crime_incidents_classified') }}
    where crime_category is not null
    group by all

    union all

    select city, area_type, area_id, 'homicide_rate', count(*)
    from {{ ref('int_crime_incidents_classified') }}
    where counts_as_homicide
    group by all

    union all

    select city, area_type, area_id, 'building_permits_rate', count(*)
    from {{ ref('int_building_permits') }}
    group by all

),

counted_events as (

    select city, area_type, area_id, indicator_id, sum(events) as events
    from (
        select * from incident_events
        union all
        select city, area_type, area_id, 'violent_crime_rate', sum(violent_count)
        from {{ ref('int_crime_counts') }} group by all
        union all
        select city, area_type, area_id, 'property_crime_rate', sum(property_count)
        from {{ ref('int_crime_counts') }} group by all
        union all
        select city, area_type, area_id, 'homicide_rate', sum(homicide_count)
        from {{ ref('int_crime_counts') }} where homicide_count is not null group by all
    )
    group by all

),

area_types as (

    -- every area type a city's records of an indicator are in (not the city itself)
    select city, indicator_id, area_type,
        sum(events) filter (where area_id is not null) as events_in_areas,
        sum(events) filter (where area_id is null) as events_without_area
    from counted_events
    where area_type <> 'city'
    group by all

),

areas as (

    select areas.city, areas.area_type, count(distinct areas.area_id) as n_areas,
        count(distinct population.area_id) as n_areas_with_population
    from {{ ref('int_areas') }} as areas
    left join {{ ref('int_area_population') }} as population
        using (city, area_type, area_id)
    group by all

),

facts as (

    select city, indicator_id, area_type,
        count(distinct area_id) as n_areas_with_values,
        count(*) as n_values,
        min(period_start) as first_period,
        max(period_start) as last_period,
        string_agg(distinct population_source, '; ') as population_sources
    from {{ ref('fct_indicator_values') }}
    group by all

),

record_levels as (

    select
        area_types.city,
        area_types.indicator_id,
        area_types.area_type,
        coalesce(areas.n_areas, 0) as n_areas,
        coalesce(facts.n_areas_with_values, 0) as n_areas_with_values,
        area_types.events_in_areas,
        area_types.events_without_area,
        facts.n_values,
        facts.first_period,
        facts.last_period,
        facts.population_sources,
        case
            when coalesce(facts.n_areas_with_values, 0) = 0 then 'left_out'
            when facts.n_areas_with_values < areas.n_areas then 'partial'
            else 'computed'
        end as status,
        case
            when coalesce(areas.n_areas_with_population, 0) = 0
                then 'no population for ' || replace(area_types.area_type, '_', ' ')
                    || 's: counts only (events_in_areas), no area rates'
            when areas.n_areas_with_population < areas.n_areas
                then (areas.n_areas - areas.n_areas_with_population) || ' of ' || areas.n_areas
                    || ' ' || replace(area_types.area_type, '_', ' ') || 's have no population: no rates for them'
            when coalesce(facts.n_areas_with_values, 0) = 0
                then 'no complete period: the records cover no complete '
                    || coalesce(indicators.grain, 'period') || ' of this indicator'
        end as reason
    from area_types
    left join areas using (city, area_type)
    left join facts using (city, indicator_id, area_type)
    left join {{ ref('dim_indicators') }} as indicators using (indicator_id)

),

other_levels as (

    -- what is published at one level only (the city, a county, schools)
    select
        facts.city, facts.indicator_id, facts.area_type,
        facts.n_areas_with_values as n_areas, facts.n_areas_with_values,
        null as events_in_areas, null as events_without_area,
        facts.n_values, facts.first_period, facts.last_period, facts.population_sources,
        'computed' as status,
        null as reason
    from facts
    where not exists (
        select 1 from record_levels
        where record_levels.city = facts.city
          and record_levels.indicator_id = facts.indicator_id
          and record_levels.area_type = facts.area_type
    )

),

city_rates_missing as (

    -- events counted, but the city has no population at all: no city rate
    select
        counted.city, counted.indicator_id, 'city' as area_type, 1 as n_areas,
        0 as n_areas_with_values, null as events_in_areas, sum(counted.events) as events_without_area,
        0 as n_values, null as first_period, null as last_period, null as population_sources,
        'left_out' as status,
        case
            when not exists (select 1 from {{ ref('int_city_population') }} as p where p.city = counted.city)
                then 'no population for the city (no census place or counties in its catalog, no area populations)'
            else 'no complete period: the records cover no complete period of this indicator'
        end as reason
    from counted_events as counted
    where not exists (
        select 1 from facts
        where facts.city = counted.city and facts.indicator_id = counted.indicator_id
          and facts.area_type = 'city'
    )
    group by all

)

select
    cast(city as varchar) as city,
    cast(indicator_id as varchar) as indicator_id,
    cast(area_type as varchar) as area_type,
    cast(status as varchar) as status,
    cast(reason as varchar) as reason,
    cast(n_areas as integer) as n_areas,
    cast(n_areas_with_values as integer) as n_areas_with_values,
    cast(events_in_areas as double) as events_in_areas,
    cast(events_without_area as double) as events_without_area,
    cast(n_values as integer) as n_values,
    cast(first_period as date) as first_period,
    cast(last_period as date) as last_period,
    cast(population_sources as varchar) as population_sources
from (
    select * from record_levels
    union all
    select * from other_levels
    union all
    select * from city_rates_missing
) as levels
