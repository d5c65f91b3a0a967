-- The problem registry's problems (one row per city and problem), as resolved for each city
-- from sources/problems/ (default problems merged with cities/<city>.yml) and validated by
-- pipelines/problems.py. Empty texts become null.
with source as (

    select * from {{ source('registry', 'problem_registry__problems') }}

),

renamed as (

    select
        cast(trim(city) as varchar) as city,
        cast(trim(problem_id) as varchar) as problem_id,
        cast(nullif(trim(problem_name), '') as varchar) as problem_name,
        cast(nullif(trim(description), '') as varchar) as description,
        cast(nullif(trim(notes), '') as varchar) as notes,
        cast(nullif(trim(source_file), '') as varchar) as source_file,
        cast(nullif(trim(city_file), '') as varchar) as city_file
    from source

)

select * from renamed
