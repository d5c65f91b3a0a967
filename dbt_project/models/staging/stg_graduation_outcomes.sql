-- Every city's published graduation outcomes, one row per school x cohort (x demographic
-- group) as published, or per report x cohort where the catalog unpivots a report listing
-- several cohorts. graduation_year = the spring the class was due to graduate: as published,
-- else the entry cohort + 4, else report_year + year_offset.
with unioned as (

    {{ canonical_union('graduation_outcomes') }}

)

select
    city, dataset, raw_table, dataset_priority,
    school_id, school_name, demographic,
    cohort, report_year, year_offset,
    coalesce(graduation_year, cohort + 4, report_year + year_offset) as graduation_year,
    graduation_pct, district_graduation_pct, cohort_size, graduates,
    dataset_indicators, excluded_by, _source_file, _load_id, _loaded_at
from unioned
