-- NYC citywide count-based values (docs block nyc_areas), checked per indicator and period:
--   citywide denominator = sum of the five borough denominators (populations);
--   crime rates (DCJS counts): citywide numerator = sum of the borough numerators;
--   shooting incidents: citywide numerator = all incidents of the month (distinct incident
--   keys in staging), the boroughs' sum = incidents with a borough.
with facts as (

    select * from {{ ref('int_indicator_values__nyc') }}
    where indicator_id in ('violent_crime_rate', 'property_crime_rate', 'shooting_incidents_rate')

),

actual as (

    select
        indicator_id,
        period_start,
        sum(numerator) filter (where area_type = 'city') as city_numerator,
        sum(numerator) filter (where area_type = 'borough') as borough_numerator_sum,
        sum(denominator) filter (where area_type = 'city') as city_denominator,
        sum(denominator) filter (where area_type = 'borough') as borough_denominator_sum
    from facts
    group by indicator_id, period_start

),

incidents as (

    select
        cast(date_trunc('month', occurred_on) as date) as period_start,
        count(distinct incident_id) as all_incidents,
        count(distinct incident_id) filter (
            where borough_name in (select area_spelling from {{ ref('nyc_boroughs') }})
        ) as incidents_with_borough
    from {{ ref('stg_nyc__shooting_incidents') }}
    group by 1

)

select actual.*, incidents.all_incidents, incidents.incidents_with_borough
from actual
left join incidents
    on actual.indicator_id = 'shooting_incidents_rate'
    and incidents.period_start = actual.period_start
where actual.city_denominator is distinct from actual.borough_denominator_sum
   or (actual.indicator_id <> 'shooting_incidents_rate'
       and actual.city_numerator is distinct from actual.borough_numerator_sum)
   or (actual.indicator_id = 'shooting_incidents_rate' and (
           actual.city_numerator is distinct from coalesce(incidents.all_incidents, 0)
           or actual.borough_numerator_sum is distinct from coalesce(incidents.incidents_with_borough, 0)
       ))
