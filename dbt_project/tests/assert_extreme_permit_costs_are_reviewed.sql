-- A permit that skips plan review (easy, express, signs, elevators, scaffolding, wrecking...)
-- reporting more than $10M is suspicious: it must be reviewed in the
-- building_permit_cost_reviews seed (decision keep or exclude) before its cost can feed the
-- permit cost indicator. Checked for the cities that review permit costs (those with rows
-- in the seed); the types with plan review are named as they publish them.
select permits.city, permits.permit_id, permits.permit_type, permits.reported_cost_usd
from {{ ref('stg_permits') }} as permits
left join {{ ref('building_permit_cost_reviews') }} as reviews
    on reviews.city = permits.city and reviews.permit_id = permits.permit_id
where permits.permit_type not in ('PERMIT - NEW CONSTRUCTION', 'PERMIT - RENOVATION/ALTERATION')
  and permits.reported_cost_usd > 10000000
  and reviews.permit_id is null
  and permits.city in (select city from {{ ref('building_permit_cost_reviews') }})
