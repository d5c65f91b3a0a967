-- Every city's building permits, one row per permit issued, typed from the catalogs.
with unioned as (

    {{ canonical_union('permits') }}

)

select
    city, dataset, raw_table, dataset_priority, area_type, area, area_key,
    permit_id, permit_type, permit_status, issued_on,
    cast(date_trunc('month', issued_on) as date) as issued_month,
    reported_cost as reported_cost_usd,
    dataset_indicators, coverage_first, coverage_last, excluded_by,
    _source_file, _load_id, _loaded_at
from unioned
