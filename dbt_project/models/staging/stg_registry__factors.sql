-- The problem registry's factors (one row per city, problem and causal factor), as resolved for each city
-- from sources/problems/ (default problems merged with cities/<city>.yml) and validated by
-- pipelines/problems.py. Empty texts become null.
with source as (

    select * from {{ source('registry', 'problem_registry__factors') }}

),

renamed as (

    select
        cast(trim(city) as varchar) as city,
        cast(trim(problem_id) as varchar) as problem_id,
        cast(trim(factor_id) as varchar) as factor_id,
        cast(nullif(trim(factor_name), '') as varchar) as factor_name,
        cast(nullif(trim(description), '') as varchar) as description,
        cast(causal_weight as double) as causal_weight,
        cast(nullif(trim(link_evidence), '') as varchar) as link_evidence,
        cast(nullif(trim(authority), '') as varchar) as authority,
        cast(nullif(trim(authority_note), '') as varchar) as authority_note,
        cast(nullif(trim(authority_set_by), '') as varchar) as authority_set_by,
        cast(nullif(trim(sources), '') as varchar) as sources
    from source

)

select * from renamed
