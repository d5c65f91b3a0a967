-- Data health per dataset: freshness against its cadence, the last load, checks and
-- quarantined rows. What the dashboards' data-health page and `civic status` report.
with datasets as (

    select * from {{ source('meta', 'datasets') }}

),

latest_load as (

    select * from {{ ref('stg_meta__load_log') }} where is_latest

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

)

select
    datasets.city,
    datasets.dataset,
    datasets.raw_table,
    datasets.title,
    datasets.domain,
    datasets.cadence,
    datasets.portal_url,
    latest_load.loaded_at as last_loaded_at,
    latest_load.mode as last_load_mode,
    latest_load.loaded_rows as last_load_rows,
    latest_load.watermark,
    datasets.stale_after_days as expected_within_days,
    -- static reference data never goes stale; a dataset never loaded always is
    case
        when datasets.stale_after_days is null then false
        when latest_load.loaded_at is null then true
        else latest_load.loaded_at < now() - to_days(datasets.stale_after_days)
    end as is_stale,
    coalesce(latest_checks.checks_passed, 0) as checks_passed,
    coalesce(latest_checks.checks_failed, 0) as checks_failed,
    coalesce(latest_checks.checks_warned, 0) as checks_warned,
    coalesce(quarantine.quarantined_rows, 0) as quarantined_rows
from datasets
left join latest_load using (raw_table)
left join latest_checks using (raw_table)
left join quarantine using (raw_table)
