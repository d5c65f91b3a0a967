-- The indicator catalog (seed indicator_catalog) as a mart: one row per indicator.
select
    indicator_id,
    name,
    domain,
    unit,
    polarity,
    grain,
    description,
    source
from {{ ref('indicator_catalog') }}
