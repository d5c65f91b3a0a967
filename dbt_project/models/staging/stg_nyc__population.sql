-- Census Bureau annual population estimates for New York State and its counties, 1970-2022,
-- one row per area x year x estimate program as published (Census Base Population = April 1
-- census count; Intercensal / Postcensal Population Estimate = July 1 estimates). All areas
-- are kept; int_nyc_borough_population picks the boroughs and one estimate per year.
with source as (

    select * from {{ source('raw', 'nyc_population') }}

),

renamed as (

    select
        -- FIPS code as text ('36005'); 36000 = New York State
        {{ clean_text('area_code') }} as area_fips,
        {{ clean_text('area') }} as area_name,
        {{ to_integer('year') }} as year,
        {{ clean_text('estimate_type') }} as estimate_type,
        {{ to_integer('population') }} as population,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
