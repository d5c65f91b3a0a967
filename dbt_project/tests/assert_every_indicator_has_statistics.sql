-- Every catalogued indicator has a row in seed indicator_statistics; without one it gets no
-- interval, no small-number flag and no early warnings. Warn (not fail) so that a new
-- city's indicators can land before their statistics row.
{{ config(severity='warn') }}
select catalog.indicator_id
from {{ ref('dim_indicators') }} as catalog
left join {{ ref('indicator_statistics') }} as statistics using (indicator_id)
where statistics.indicator_id is null
