-- The latest period each loaded raw table covers, read from its period columns (see the
-- macro dataset_latest_periods for which columns count). What "data as of" and data-health
-- freshness are measured from, rather than from the load time.
-- depends on the raw tables through meta.datasets, which lists them
with periods as (

    {{ dataset_latest_periods(source('meta', 'datasets')) }}

)

select
    raw_table,
    latest_period_start,
    period_grain,
    {{ period_end('latest_period_start', 'period_grain') }} as covered_until
from periods
where latest_period_start is not null
