-- Outcome indicators each local intervention aims at: those the registry names, else the
-- outcomes of its problem (chosen_by = registry | problem).
with source as (

    select * from {{ source('registry', 'problem_registry__intervention_outcomes') }}

)

select
    cast(trim(city) as varchar) as city,
    cast(trim(local_intervention_id) as varchar) as local_intervention_id,
    cast(trim(indicator_id) as varchar) as indicator_id,
    cast(trim(chosen_by) as varchar) as chosen_by
from source
