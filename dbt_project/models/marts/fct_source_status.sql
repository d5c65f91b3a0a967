-- Which raw tables this build read and which it left out, with the reason (stg_source_status),
-- as a mart so the data-health page and releases can show it: one city's missing data leave
-- the other cities' values intact, and say so.
select
    status.city,
    status.dataset,
    status.raw_table,
    status.feeds,
    status.is_included,
    status.reason,
    datasets.title,
    datasets.portal_url
from {{ ref('stg_source_status') }} as status
left join {{ source('meta', 'datasets') }} as datasets
    on datasets.raw_table = status.raw_table
