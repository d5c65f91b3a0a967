-- Every reviewed permit of the seed building_permit_cost_reviews is a permit of its city (a
-- typo in a permit id would silently keep an entry error in the cost indicator). Checked for
-- the cities whose permits are in the warehouse (a city whose data are not loaded in this
-- build is skipped, not failed).
select reviews.city, reviews.permit_id
from {{ ref('building_permit_cost_reviews') }} as reviews
left join {{ ref('stg_permits') }} as permits
    on permits.city = reviews.city and permits.permit_id = reviews.permit_id
where reviews.city in (select distinct city from {{ ref('stg_permits') }})
  and permits.permit_id is null
