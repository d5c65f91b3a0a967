-- Every city's building permits in scope, in their area, with the cost used by the
-- indicators: the reported cost, except for the permits whose cost a reviewer excluded as
-- an entry error (seed building_permit_cost_reviews, by city and permit id; e.g. rooftop
-- solar easy permits reported at hundreds of millions of dollars). Excluded permits stay here
-- and still count as issued permits; only their cost is set aside.
with permits as (

    select * from {{ ref('stg_permits') }}
    where excluded_by is null

),

located as (

    {{ with_resolved_areas('permits') }}

),

reviews as (

    select * from {{ ref('building_permit_cost_reviews') }}

)

select
    located.city,
    located.dataset,
    located.dataset_priority,
    located.area_type,
    located.area_id,
    located.area_name,
    located.permit_id,
    located.permit_type,
    located.permit_status,
    located.issued_on,
    located.issued_month,
    located.reported_cost_usd,
    coalesce(reviews.decision = 'exclude', false) as is_cost_excluded,
    case
        when reviews.decision = 'exclude' then null
        else located.reported_cost_usd
    end as indicator_cost_usd,
    reviews.reason as cost_review_reason
from located
left join reviews
    on reviews.city = located.city
    and reviews.permit_id = located.permit_id
