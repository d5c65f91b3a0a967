-- NYS DOL Local Area Unemployment Statistics for New York City and its five counties, one row
-- per area x year x month as published. The file lists New York City two or three times for
-- the same month (it appears under several area types in the source dataset); those copies
-- are kept here and reduced to one in int_nyc_unemployment. Month 0 rows, if present, are
-- annual averages: flagged, with a null month_start.
with source as (

    select * from {{ source('raw', 'nyc_unemployment') }}

),

renamed as (

    select
        {{ clean_text('area') }} as area_name,
        {{ to_integer('year') }} as year,
        {{ to_integer('month') }} as month,
        {{ to_integer('month') }} = 0 as is_annual_average,
        case
            when {{ to_integer('month') }} between 1 and 12
                then make_date({{ to_integer('year') }}, {{ to_integer('month') }}, 1)
        end as month_start,
        {{ to_integer('labor_force') }} as labor_force,
        {{ to_integer('employed') }} as employed,
        {{ to_integer('unemployed') }} as unemployed,
        -- Published as a fraction (0.046 = 4.6 %): converted to percent. Decimal arithmetic
        -- keeps 0.039 -> 3.9 exact (no 3.9000000000000004).
        cast(cast(nullif(trim(unemployment_rate), '') as decimal(9, 6)) * 100 as double)
            as unemployment_rate_pct,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
