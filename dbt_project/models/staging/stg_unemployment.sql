-- Every city's published labour-force statistics, one row per area x month as published (a
-- file may list an area twice; month 0 rows are annual averages: month_start is null).
-- unemployment_rate_pct is in percent whatever the file's unit (catalog `units`).
with unioned as (

    {{ canonical_union('unemployment') }}

)

select
    city, dataset, raw_table, dataset_priority, area_type, area, area_key,
    coalesce(
        cast(date_trunc('month', date) as date),
        case when month between 1 and 12 then make_date(year, month, 1) end
    ) as month_start,
    date is null and month = 0 as is_annual_average,
    unemployment_rate as unemployment_rate_pct,
    labor_force, employed, unemployed,
    dataset_indicators, excluded_by, _source_file, _load_id, _loaded_at
from unioned
