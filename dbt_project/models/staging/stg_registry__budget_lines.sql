-- The problem registry's budget lines (one row per city, problem, factor and department /
-- agency), as resolved for each city from sources/problems/ (default problems merged with
-- cities/<city>.yml) and validated by pipelines/problems.py. Empty texts become null.
with source as (

    select * from {{ source('registry', 'problem_registry__budget_lines') }}

),

renamed as (

    select
        cast(trim(city) as varchar) as city,
        cast(trim(problem_id) as varchar) as problem_id,
        cast(trim(factor_id) as varchar) as factor_id,
        cast(trim(department_name) as varchar) as department_name,
        cast(attributed_share as double) as attributed_share,
        cast(nullif(trim(note), '') as varchar) as note
    from source

)

select * from renamed
