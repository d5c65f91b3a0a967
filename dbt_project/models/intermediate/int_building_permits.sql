-- Building permits with the cost used by the indicators: the reported cost, except for the
-- permits whose cost a reviewer excluded as an entry error (seed building_permit_cost_reviews,
-- e.g. rooftop-solar easy permits reported at hundreds of millions of dollars). Excluded
-- permits stay here and still count as issued permits; only their cost is set aside.
with permits as (

    select * from {{ ref('stg_chicago__building_permits') }}

),

reviews as (

    select * from {{ ref('building_permit_cost_reviews') }}

)

select
    permits.permit_id,
    permits.permit_type,
    permits.permit_status,
    permits.issued_on,
    cast(date_trunc('month', permits.issued_on) as date) as issued_month,
    permits.community_area_id,
    permits.reported_cost_usd,
    coalesce(reviews.decision = 'exclude', false) as is_cost_excluded,
    case
        when reviews.decision = 'exclude' then null
        else permits.reported_cost_usd
    end as indicator_cost_usd,
    reviews.reason as cost_review_reason
from permits
left join reviews on reviews.permit_id = permits.permit_id
