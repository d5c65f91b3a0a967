-- One row per month: Cook County, IL unemployment rate (FRED series ILCOOK1URN, percent,
-- not seasonally adjusted). FRED writes '.' for a missing month: kept as a null rate here.
with source as (

    select * from {{ source('raw', 'chicago_unemployment_rate') }}

),

renamed as (

    select
        cast(trim(date) as date) as month_start,
        {{ to_double('ilcook1urn') }} as unemployment_rate_pct,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
