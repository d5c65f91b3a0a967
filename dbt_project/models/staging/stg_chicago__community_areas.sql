-- The 77 community areas of Chicago: number, name and side.
with source as (

    select * from {{ source('raw', 'chicago_community_areas') }}

),

renamed as (

    select
        {{ to_integer('community_area') }} as community_area_id,
        {{ clean_text('community_name') }} as community_area_name,
        {{ clean_text('side') }} as side,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
-- The published file starts with a blank placeholder row numbered 0 (no name, no side):
-- it is not a community area, so it is dropped here.
where community_area_id is distinct from 0 or community_area_name is not null
