-- NYS DCJS index crimes: annual counts of FBI index crimes reported by police agencies, one
-- row per county x year x agency as published (the bundled copy lacks the Agency column, so
-- several rows can share a county and year outside NYC; each NYC county has exactly one row
-- per year: NYPD). Every New York State county is kept here; NYC boroughs are picked in
-- int_nyc_index_crimes. Counts are blank for agencies that did not report: kept null.
with source as (

    select * from {{ source('raw', 'nyc_index_crimes') }}

),

renamed as (

    select
        {{ clean_text('area') }} as county_name,
        {{ to_integer('year') }} as year,
        {{ to_integer('index_count') }} as index_count,
        {{ to_integer('violent_count') }} as violent_count,
        {{ to_integer('murder') }} as murder_count,
        {{ to_integer('rape') }} as rape_count,
        {{ to_integer('robbery') }} as robbery_count,
        {{ to_integer('aggravated_assault') }} as aggravated_assault_count,
        {{ to_integer('property_count') }} as property_count,
        {{ to_integer('burglary') }} as burglary_count,
        {{ to_integer('larceny') }} as larceny_count,
        {{ to_integer('motor_vehicle_theft') }} as motor_vehicle_theft_count,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
