-- The problem registry's interventions (one row per city, problem, intervention and factor it
-- targets), as resolved for each city from sources/problems/ (default problems merged with
-- cities/<city>.yml) and validated by pipelines/problems.py. Empty texts become null.
with source as (

    select * from {{ source('registry', 'problem_registry__interventions') }}

),

renamed as (

    select
        cast(trim(city) as varchar) as city,
        cast(trim(problem_id) as varchar) as problem_id,
        cast(trim(intervention_id) as varchar) as intervention_id,
        cast(trim(factor_id) as varchar) as factor_id,
        cast(nullif(trim(intervention_name), '') as varchar) as intervention_name,
        cast(nullif(trim(evidence_rating), '') as varchar) as evidence_rating,
        cast(nullif(trim(summary), '') as varchar) as summary,
        cast(nullif(trim(sources), '') as varchar) as sources,
        cast(is_tried_locally as boolean) as is_tried_locally,
        cast(nullif(trim(local_where), '') as varchar) as local_where,
        cast(local_since as integer) as local_since,
        cast(nullif(trim(local_led_by), '') as varchar) as local_led_by,
        cast(nullif(trim(local_status), '') as varchar) as local_status,
        cast(nullif(trim(local_sources), '') as varchar) as local_sources
    from source

)

select * from renamed
