-- 2010 Census population of each community area.
with source as (

    select * from {{ source('raw', 'chicago_population_2010') }}

),

renamed as (

    select
        {{ to_integer('nid') }} as community_area_id,
        2010 as census_year,
        {{ to_integer('pop2010') }} as population,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
