-- Every city's published annual crime counts in its areas: rows whose area is one of the
-- city's areas (or the city itself); other areas of the file (e.g. counties outside the city
-- in a state's table) are out of scope and left out.
with counts as (

    {{ with_resolved_areas(ref('stg_crime_counts')) }}

)

select
    city, dataset, dataset_priority, area_type, area_id, area_name, year,
    violent_count, property_count, index_count, homicide_count, dataset_indicators
from counts
where excluded_by is null and area_id is not null
