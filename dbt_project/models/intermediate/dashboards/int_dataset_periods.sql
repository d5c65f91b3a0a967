-- The latest period each loaded raw table covers, read from its period columns (see the
-- macro dataset_latest_periods for which columns count). What data-health freshness is
-- measured from, rather than from the load time. A row dated by day in a monthly (quarterly,
-- yearly) dataset stands for its month (quarter, year): FRED dates each month by its 1st.
with periods as (

    {{ dataset_latest_periods(source('meta', 'datasets')) }}

),

datasets as (

    select raw_table, cadence from {{ source('meta', 'datasets') }}

),

graded as (

    select
        periods.raw_table,
        periods.latest_period_start,
        case
            when periods.period_grain = 'day' and datasets.cadence = 'monthly' then 'month'
            when periods.period_grain = 'day' and datasets.cadence = 'quarterly' then 'quarter'
            when periods.period_grain = 'day' and datasets.cadence = 'yearly' then 'year'
            else periods.period_grain
        end as period_grain
    from periods
    inner join datasets using (raw_table)
    where periods.latest_period_start is not null

)

select
    raw_table,
    latest_period_start,
    period_grain,
    {{ period_end('latest_period_start', 'period_grain') }} as covered_until
from graded
