-- One row per reported crime incident (the extract has no incident id).
with source as (

    select * from {{ source('raw', 'chicago_crimes') }}

),

-- parse the date once: on millions of rows the parse is most of this model's cost
parsed as (

    select *, {{ to_timestamp('date', '%Y-%m-%d %H:%M:%S') }} as occurred_at
    from source

),

renamed as (

    select
        occurred_at,
        cast(date_trunc('month', occurred_at) as date) as occurred_month,
        {{ clean_text('block') }} as block,
        upper({{ clean_text('primary_type') }}) as primary_type,
        upper({{ clean_text('description') }}) as description,
        {{ clean_text('location_description') }} as location_description,
        {{ to_boolean('arrest') }} as is_arrest,
        {{ to_boolean('domestic') }} as is_domestic,
        {{ to_integer('community_area') }} as community_area_id,
        _source_file,
        _load_id,
        _loaded_at
    from parsed

)

select * from renamed
