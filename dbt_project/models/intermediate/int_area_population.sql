-- Population of each area (community area, borough, ward...) per year with a published
-- figure, one figure per area and year: the best estimate program by the catalog's
-- `estimate_preference` (e.g. a July 1 estimate before an April 1 census base), then the
-- dataset listed first. valid_from_year / valid_to_year give the span of period years the
-- figure is the denominator for (macro population_applies): from its year to the year
-- before the next figure; the earliest figure also covers every earlier year (null).
-- Rows whose area is not an area of the city (other counties of a state file) are left out.
with population as (

    {{ with_resolved_areas(ref('stg_population')) }}

),

areas as (

    select * from population
    where excluded_by is null
      and area_id is not null
      and area_type <> 'city'
      and population is not null

),

chosen as (

    select
        city, area_type, area_id, area_name, year, population, estimate_type, dataset,
        count(*) over (partition by city, area_type, area_id, year) as estimates_published
    from areas
    qualify row_number() over (
        partition by city, area_type, area_id, year
        order by estimate_rank, dataset_priority
    ) = 1

)

select
    city,
    area_type,
    area_id,
    area_name,
    year,
    population,
    estimate_type,
    estimates_published,
    city || '.' || dataset as population_source,
    case
        when year = min(year) over (partition by city, area_type, area_id) then null
        else year
    end as valid_from_year,
    lead(year) over (partition by city, area_type, area_id order by year) - 1 as valid_to_year
from chosen
