-- How published area values name each area (lower case): its id, its name, the catalog's
-- other spellings; for the city itself its name, id and aliases. One area per spelling within
-- a city and area type (tested), so matching a published value cannot duplicate a row.
with areas as (

    select * from {{ ref('int_areas') }}

),

spellings as (

    select city, area_type, area_id, area_name, area_id as spelling from areas
    union
    select city, area_type, area_id, area_name, area_name from areas
    union
    select listed.city, listed.area_type, listed.area_id, areas.area_name, spelling.value
    from {{ ref('stg_areas') }} as listed
    cross join unnest(listed.spellings) as spelling (value)
    inner join areas using (city, area_type, area_id)
    union
    select cities.city, 'city', cities.city, cities.city_name, alias.value
    from {{ ref('stg_cities') }} as cities
    cross join unnest(cities.aliases) as alias (value)

)

select distinct city, area_type, area_id, area_name, lower(trim(spelling)) as spelling
from spellings
where spelling is not null
