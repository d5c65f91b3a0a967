-- One row per building permit issued.
with source as (

    select * from {{ source('raw', 'chicago_building_permits') }}

),

renamed as (

    select
        {{ clean_text('permit') }} as permit_id,
        {{ clean_text('permit_status') }} as permit_status,
        -- The portal spells one type with an en dash ('PERMIT – EXPRESS PERMIT PROGRAM');
        -- normalise it to the hyphen every other type uses.
        replace({{ clean_text('permit_type') }}, '–', '-') as permit_type,
        {{ clean_text('review_type') }} as review_type,
        cast({{ to_timestamp('issue_date', '%Y-%m-%d') }} as date) as issued_on,
        {{ clean_text('address') }} as address,
        {{ clean_text('street_name') }} as street_name,
        {{ to_integer('ward') }} as ward,
        -- Null for the few permits the portal did not geocode to a community area.
        {{ to_integer('community_area') }} as community_area_id,
        {{ clean_text('community_area_name') }} as community_area_name,
        {{ clean_text('work_type') }} as work_type,
        -- Null when the applicant reported no cost (kept null, not 0).
        {{ dollars_to_decimal('reported_cost') }} as reported_cost_usd,
        {{ to_double('latitude') }} as latitude,
        {{ to_double('longitude') }} as longitude,
        {{ clean_text('work_description') }} as work_description,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
