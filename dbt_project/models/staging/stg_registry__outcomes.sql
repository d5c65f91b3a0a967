-- The problem registry's outcomes (one row per city, problem and outcome indicator), as resolved for each city
-- from sources/problems/ (default problems merged with cities/<city>.yml) and validated by
-- pipelines/problems.py. Empty texts become null.
with source as (

    select * from {{ source('registry', 'problem_registry__outcomes') }}

),

renamed as (

    select
        cast(trim(city) as varchar) as city,
        cast(trim(problem_id) as varchar) as problem_id,
        cast(trim(indicator_id) as varchar) as indicator_id,
        cast(outcome_weight as double) as outcome_weight,
        cast(nullif(trim(note), '') as varchar) as note
    from source

)

select * from renamed
