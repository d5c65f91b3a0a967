-- Every city's published resident population by area and year (census counts or annual
-- estimates; estimate_rank orders a file's estimate programs by the catalog's preference).
with unioned as (

    {{ canonical_union('population') }}

)

select
    city, dataset, raw_table, dataset_priority, area_type, area, area_key, area_code,
    year, population, estimate_type, estimate_rank,
    excluded_by, _source_file, _load_id, _loaded_at
from unioned
