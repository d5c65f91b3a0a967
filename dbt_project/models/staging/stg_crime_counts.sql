-- Every city's published crime counts by area and year (e.g. a state's annual counts by
-- county), typed from the catalogs. Areas outside the city stay here (their area matches no
-- area of the city) and are left out of the indicators.
with unioned as (

    {{ canonical_union('crime_counts') }}

)

select
    city, dataset, raw_table, dataset_priority, area_type, area, area_key, year,
    violent_count, property_count, index_count, homicide_count,
    dataset_indicators, excluded_by, _source_file, _load_id, _loaded_at
from unioned
