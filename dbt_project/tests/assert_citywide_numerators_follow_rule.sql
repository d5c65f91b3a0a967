-- The documented area-vs-citywide rule of Chicago (docs block citywide_rule), checked per month:
--   citywide numerator              = all records of the month (known area or not)
--   sum of community area numerators = records of the month with a known community area
-- (for the permit cost indicator: the sums of their indicator costs)
with facts as (

    -- Chicago's rule, checked against Chicago's records (NYC: assert_nyc_citywide_follows_rule)
    select * from {{ ref('fct_indicator_values') }}
    where city = 'chicago'
      and indicator_id in (
          'violent_crime_rate', 'property_crime_rate',
          'building_permits_rate', 'building_permit_cost_rate'
      )

),

crimes as (

    select
        crime_category || '_crime_rate' as indicator_id,
        occurred_month as period_start,
        count(*) as all_records,
        count(community_area_id) as records_with_area
    from {{ ref('int_crimes_classified') }}
    where crime_category is not null
    group by 1, 2

),

permits as (

    select
        'building_permits_rate' as indicator_id,
        cast(date_trunc('month', issued_on) as date) as period_start,
        count(*) as all_records,
        count(community_area_id) as records_with_area
    from {{ ref('stg_chicago__building_permits') }}
    group by 1, 2

),

permit_costs as (

    select
        'building_permit_cost_rate' as indicator_id,
        issued_month as period_start,
        coalesce(sum(indicator_cost_usd), 0) as all_records,
        coalesce(sum(indicator_cost_usd) filter (where community_area_id is not null), 0)
            as records_with_area
    from {{ ref('int_building_permits') }}
    group by 1, 2

),

expected as (

    select * from crimes
    union all
    select * from permits
    union all
    select * from permit_costs

),

actual as (

    select
        indicator_id,
        period_start,
        sum(numerator) filter (where area_type = 'city') as city_numerator,
        sum(numerator) filter (where area_type = 'community_area') as area_numerator_sum
    from facts
    group by indicator_id, period_start

)

select
    coalesce(actual.indicator_id, expected.indicator_id) as indicator_id,
    coalesce(actual.period_start, expected.period_start) as period_start,
    actual.city_numerator,
    expected.all_records,
    actual.area_numerator_sum,
    expected.records_with_area
from actual
full outer join expected
    on actual.indicator_id = expected.indicator_id
    and actual.period_start = expected.period_start
where actual.city_numerator is distinct from coalesce(expected.all_records, 0)
   or actual.area_numerator_sum is distinct from coalesce(expected.records_with_area, 0)
