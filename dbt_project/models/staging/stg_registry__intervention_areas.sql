-- Areas of each local intervention: the areas it treats and the comparison areas the
-- registry names (role = treated | comparison). Citywide efforts have no rows.
with source as (

    select * from {{ source('registry', 'problem_registry__intervention_areas') }}

)

select
    cast(trim(city) as varchar) as city,
    cast(trim(local_intervention_id) as varchar) as local_intervention_id,
    cast(trim(area_type) as varchar) as area_type,
    cast(trim(area_id) as varchar) as area_id,
    cast(trim(role) as varchar) as area_role
from source
