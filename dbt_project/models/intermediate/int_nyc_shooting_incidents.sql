-- NYPD shooting incidents, one row per INCIDENT. The published file has one row per victim;
-- the victims of an incident share its key, date, time, borough and precinct (grouping by
-- them keeps incident_id unique - tested - so they cannot disagree). An incident is fatal
-- when at least one victim died (statistical murder flag).
with victims as (

    select * from {{ ref('stg_nyc__shooting_incidents') }}

),

boroughs as (

    select * from {{ ref('nyc_boroughs') }}

),

incidents as (

    select
        incident_id,
        occurred_at,
        occurred_on,
        occurred_month,
        borough_name,
        precinct,
        count(*) as victim_count,
        count(*) filter (where is_murder) as murder_victim_count,
        bool_or(is_murder) as is_fatal
    from victims
    group by incident_id, occurred_at, occurred_on, occurred_month, borough_name, precinct

)

select
    incidents.incident_id,
    incidents.occurred_at,
    incidents.occurred_on,
    incidents.occurred_month,
    -- left join: a borough spelling missing from the seed leaves a null area_id (tested)
    boroughs.area_id,
    boroughs.area_name,
    incidents.precinct,
    incidents.victim_count,
    incidents.murder_victim_count,
    incidents.is_fatal
from incidents
left join boroughs on boroughs.area_spelling = incidents.borough_name
