-- One row per successful raw load; the latest load of each table is the one that counts.
with source as (

    select * from {{ source('meta', 'load_log') }}

)

select
    raw_table,
    load_id,
    loaded_at,
    mode,
    scope,
    rows as loaded_rows,
    watermark,
    source as source_uri,
    row_number() over (partition by raw_table order by loaded_at desc, load_id desc) = 1
        as is_latest
from source
