-- Seed nyc_boroughs: every borough (area_id) has one display name and vice versa, so all
-- datasets give a borough the same area_id and area_name.
select area_id, area_name
from {{ ref('nyc_boroughs') }}
where area_id in (
    select area_id from {{ ref('nyc_boroughs') }} group by area_id having count(distinct area_name) <> 1
)
or area_name in (
    select area_name from {{ ref('nyc_boroughs') }} group by area_name having count(distinct area_id) <> 1
)
