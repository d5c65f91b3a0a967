-- Shooting incidents per 100,000 residents, by borough x month and citywide x month
-- (indicator shooting_incidents_rate). An incident with several victims counts once
-- (int_nyc_shooting_incidents). Denominator = population estimate of the month's year.
--
-- Months: every month from the first to the last month with an incident (2006-01..2019-09
-- in the bundled data), for every borough, so a month without a shooting is a 0 rate, not a
-- gap: the early-warning models need the complete monthly series.
-- Citywide numerator = ALL incidents of the month, including any without a known borough
-- (same rule as Chicago's citywide values; every incident has a borough in this data).
with incidents as (

    select * from {{ ref('int_nyc_shooting_incidents') }}

),

months as (

    select cast(month_start as date) as month_start
    from (
        select unnest(generate_series(
            min(occurred_month), max(occurred_month), interval 1 month
        )) as month_start
        from incidents
    )

),

boroughs as (

    select distinct area_id, area_name from {{ ref('nyc_boroughs') }}

),

borough_counts as (

    select area_id, occurred_month, count(*) as incident_count
    from incidents
    where area_id is not null
    group by area_id, occurred_month

),

borough_values as (

    select
        'borough' as area_type,
        boroughs.area_id,
        boroughs.area_name,
        months.month_start,
        coalesce(borough_counts.incident_count, 0) as numerator,
        population.population as denominator
    from boroughs
    cross join months
    left join borough_counts
        on borough_counts.area_id = boroughs.area_id
        and borough_counts.occurred_month = months.month_start
    left join {{ ref('int_nyc_borough_population') }} as population
        on population.area_id = boroughs.area_id
        and population.year = year(months.month_start)

),

city_counts as (

    select occurred_month, count(*) as incident_count
    from incidents
    group by occurred_month

),

city_values as (

    select
        'city' as area_type,
        'nyc' as area_id,
        'New York City' as area_name,
        months.month_start,
        coalesce(city_counts.incident_count, 0) as numerator,
        population.population as denominator
    from months
    left join city_counts on city_counts.occurred_month = months.month_start
    left join {{ ref('int_nyc_city_population') }} as population
        on population.year = year(months.month_start)

),

all_values as (

    select * from borough_values
    union all
    select * from city_values

)

select
    area_type,
    area_id,
    area_name,
    'shooting_incidents_rate' as indicator_id,
    'all' as breakdown_type,
    'all' as breakdown_value,
    month_start as period_start,
    'month' as period_grain,
    cast(numerator as double) * 100000.0 / denominator as value,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator
from all_values
