-- The problem registry's actors (one row per city, problem, factor and actor), as resolved for each city
-- from sources/problems/ (default problems merged with cities/<city>.yml) and validated by
-- pipelines/problems.py. Empty texts become null.
with source as (

    select * from {{ source('registry', 'problem_registry__actors') }}

),

renamed as (

    select
        cast(trim(city) as varchar) as city,
        cast(trim(problem_id) as varchar) as problem_id,
        cast(trim(factor_id) as varchar) as factor_id,
        cast(nullif(trim(actor_name), '') as varchar) as actor_name,
        cast(nullif(trim(sector), '') as varchar) as sector,
        cast(nullif(trim(role), '') as varchar) as role,
        cast(is_engaged as boolean) as is_engaged
    from source

)

select * from renamed
