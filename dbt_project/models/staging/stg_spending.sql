-- Every city's budget or spending lines, one row per published line (and per fiscal year of a
-- table with one column per year), in dollars whatever the published unit. Printed totals and
-- other out-of-scope lines stay here with `excluded_by` set.
with unioned as (

    {{ canonical_union('spending') }}

)

select
    city, dataset, raw_table, dataset_priority, spending_kind,
    fiscal_year, department, department_code, fund, account, function, row_type,
    amount as amount_usd,
    dataset_indicators, excluded_by, _source_file, _load_id, _loaded_at
from unioned
