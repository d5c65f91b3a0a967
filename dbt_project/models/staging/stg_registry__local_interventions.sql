-- The innovation ledger: one row per local intervention a city tries (sources/problems/
-- cities/<city>.yml, validated by pipelines/interventions.py). Empty texts become null.
with source as (

    select * from {{ source('registry', 'problem_registry__local_interventions') }}

),

renamed as (

    select
        cast(trim(city) as varchar) as city,
        cast(trim(problem_id) as varchar) as problem_id,
        cast(trim(local_intervention_id) as varchar) as local_intervention_id,
        cast(trim(intervention_id) as varchar) as intervention_id,
        cast(trim(name) as varchar) as local_intervention_name,
        cast(nullif(trim(where_text), '') as varchar) as where_text,
        cast(trim(area_type) as varchar) as area_type,
        cast(start_month as date) as start_month,
        cast(trim(start_precision) as varchar) as start_precision,
        cast(end_month as date) as end_month,
        cast(ramp_up_months as integer) as ramp_up_months,
        cast(trim(led_by) as varchar) as led_by,
        cast(trim(lead_sector) as varchar) as lead_sector,
        cast(trim(leadership) as varchar) as leadership,
        cast(trim(kind) as varchar) as kind,
        cast(trim(status) as varchar) as status,
        cast(nullif(trim(sources), '') as varchar) as sources,
        cast(nullif(trim(notes), '') as varchar) as notes,
        cast(nullif(trim(city_file), '') as varchar) as city_file
    from source

)

select * from renamed
