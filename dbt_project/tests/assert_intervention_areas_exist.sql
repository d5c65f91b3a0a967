-- Every area the innovation ledger names (treated or comparison) must be an area of its
-- type in the warehouse, wherever the warehouse holds areas of that type for the city (the
-- registry loader already refuses areas missing from a catalog's area list; this catches the
-- types a catalog does not list). Fails with the city file, the intervention and the area.
with named as (

    select areas.city, areas.local_intervention_id, areas.area_type, areas.area_id,
        areas.area_role, interventions.city_file
    from {{ ref('stg_registry__intervention_areas') }} as areas
    inner join {{ ref('stg_registry__local_interventions') }} as interventions
        using (city, local_intervention_id)

),

known as (

    select distinct city, area_type, area_id
    from {{ ref('fct_indicator_values') }}

),

types_present as (

    select distinct city, area_type from known

)

select named.*
from named
inner join types_present using (city, area_type)
left join known using (city, area_type, area_id)
where known.area_id is null
