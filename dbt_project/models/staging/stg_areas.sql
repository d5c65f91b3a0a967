-- Every city's areas by type, as its catalog lists them (`areas:` items or a numbered name
-- pattern, written to meta.areas) or as a dataset of the catalog lists them. Rows without an
-- id or a name (e.g. a blank placeholder row of a lookup file) are not areas.
with listed as (

    select
        city, area_type, area_id, area_name, spellings, 'catalog' as listed_by
    from {{ source('meta', 'areas') }}

),

from_datasets as (

    {{ area_list_union() }}

)

select * from listed
union all
select * from from_datasets
where area_id is not null and area_name is not null
