-- Early-warning methods and levels in plain words (seeds alert_methods, alert_levels), for the
-- method page: what each detector does and how sure each level is.
select
    'method' as entry_kind,
    method as entry_id,
    plain_name as label,
    how_it_works as explanation,
    cast(null as integer) as sort_order
from {{ ref('alert_methods') }}
union all
select
    'level',
    level,
    level_label,
    upper(left(how_sure, 1)) || substr(how_sure, 2) || '.',
    level_order
from {{ ref('alert_levels') }}
