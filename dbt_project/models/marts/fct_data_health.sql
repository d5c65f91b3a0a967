-- Data health per dataset: how current the data are (the latest period they cover, against
-- the dataset's cadence), the last load beside it, checks and quarantined rows. What the
-- dashboards' data-health page and `civic status` report.
--
-- Freshness counts from the period the data cover, not from the load time: a file of 2022
-- crimes loaded this morning is still two-year-old data. Where a raw table has no period
-- column the loader or the canonical tables give it, the latest indicator period of the same
-- city and domain stands in (period_source says which).
with datasets as (

    select * from {{ source('meta', 'datasets') }}

),

latest_load as (

    select * from {{ ref('stg_meta__load_log') }} where is_latest

),

table_periods as (

    select * from {{ ref('int_dataset_periods') }}

),

-- fallback: the newest indicator period of the city and domain
domain_periods as (

    select
        values_.city,
        indicators.domain,
        max({{ period_end('values_.period_start', 'values_.period_grain') }}) as covered_until
    from {{ ref('fct_indicator_values') }} as values_
    inner join {{ ref('dim_indicators') }} as indicators using (indicator_id)
    group by values_.city, indicators.domain

),

-- checks of the latest load only: an old failure that a reload fixed no longer counts
latest_checks as (

    select
        checks.raw_table,
        count(*) filter (where checks.passed) as checks_passed,
        count(*) filter (where not checks.passed and checks.severity = 'error') as checks_failed,
        count(*) filter (where not checks.passed and checks.severity <> 'error') as checks_warned
    from {{ source('meta', 'check_results') }} as checks
    inner join latest_load using (raw_table, load_id)
    group by checks.raw_table

),

quarantine as (

    select raw_table, count(*) as quarantined_rows
    from {{ source('meta', 'quarantined_rows') }}
    inner join latest_load using (raw_table, load_id)
    group by raw_table

),

joined as (

    select
        datasets.*,
        latest_load.loaded_at,
        latest_load.mode,
        latest_load.loaded_rows,
        latest_load.watermark,
        case when latest_load.loaded_at is not null
            then coalesce(table_periods.covered_until, domain_periods.covered_until) end
            as covered_until,
        case
            when latest_load.loaded_at is null then null
            when table_periods.covered_until is not null then 'data'
            when domain_periods.covered_until is not null then 'indicators of the domain'
        end as period_source,
        {{ dashboards_as_of() }} as as_of_date
    from datasets
    left join latest_load using (raw_table)
    left join table_periods using (raw_table)
    left join domain_periods
        on datasets.city = domain_periods.city and datasets.domain = domain_periods.domain

)

select
    joined.city,
    joined.dataset,
    joined.raw_table,
    joined.title,
    joined.domain,
    joined.cadence,
    joined.portal_url,
    joined.loaded_at as last_loaded_at,
    joined.mode as last_load_mode,
    joined.loaded_rows as last_load_rows,
    joined.watermark,
    joined.stale_after_days as expected_within_days,
    cast(joined.covered_until - interval 1 day as date) as data_until,
    joined.period_source,
    joined.as_of_date,
    date_diff('day', joined.covered_until, joined.as_of_date) as data_age_days,
    date_diff('day', cast(joined.loaded_at as date), joined.as_of_date) as load_age_days,
    -- static reference data never goes stale; a dataset never loaded always is; otherwise
    -- the data are stale when their newest period ended longer ago than the cadence allows
    -- (the load time where no period is known)
    case
        when joined.stale_after_days is null then false
        when joined.loaded_at is null then true
        when joined.covered_until is not null
            then joined.covered_until < joined.as_of_date - to_days(joined.stale_after_days)
        else cast(joined.loaded_at as date) < joined.as_of_date - to_days(joined.stale_after_days)
    end as is_stale,
    case
        when joined.stale_after_days is null then false
        when joined.loaded_at is null then true
        else cast(joined.loaded_at as date) < joined.as_of_date - to_days(joined.stale_after_days)
    end as is_load_overdue,
    case
        when joined.loaded_at is null then 'never loaded'
        when joined.stale_after_days is null then 'reference data (does not expire)'
        when joined.covered_until is null then 'period not known'
        when joined.covered_until >= joined.as_of_date - to_days(joined.stale_after_days)
            then 'current'
        else 'behind by ' || {{ age_label('joined.covered_until', 'joined.as_of_date') }}
    end as freshness,
    coalesce(latest_checks.checks_passed, 0) as checks_passed,
    coalesce(latest_checks.checks_failed, 0) as checks_failed,
    coalesce(latest_checks.checks_warned, 0) as checks_warned,
    coalesce(quarantine.quarantined_rows, 0) as quarantined_rows
from joined
left join latest_checks using (raw_table)
left join quarantine using (raw_table)
