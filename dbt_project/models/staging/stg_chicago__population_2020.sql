-- 2020 Census population and land area of each community area.
with source as (

    select * from {{ source('raw', 'chicago_population_2020') }}

),

renamed as (

    select
        {{ to_integer('community_area_id') }} as community_area_id,
        2020 as census_year,
        {{ clean_text('community_area_name') }} as community_area_name,
        {{ to_integer('population_2020') }} as population,
        {{ to_double('area_sq_mi') }} as area_sq_mi,
        {{ to_double('area_sq_km') }} as area_sq_km,
        {{ to_double('density_per_sq_mi') }} as density_per_sq_mi,
        {{ to_double('density_per_sq_km') }} as density_per_sq_km,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
