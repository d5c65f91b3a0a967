-- The documented area-vs-citywide rule (docs block citywide_rule), for every city, checked per
-- indicator and month of the values computed from records (crime incidents, permits):
--   citywide numerator        = all records of the month in scope (known area or not);
--   sum of the area numerators = records of the month with a known area
-- (permit cost: the sums of their indicator costs); and for published annual counts the
-- citywide numerator = the sum of the areas' (no unknown area in a published table).
-- Where a city's population is the sum of its areas, the citywide denominator = the sum of
-- the area denominators.
with facts as (

    select * from {{ ref('fct_indicator_values') }}
    where breakdown_type = 'all'

),

crimes as (

    select
        city, dataset,
        case crime_category
            {%- for name, indicator in civic_offense_categories().items() %}
            when {{ civic_literal(name) }} then {{ civic_literal(indicator) }}
            {%- endfor %}
        end as indicator_id,
        occurred_month as period_start,
        count(*) as all_records,
        count(*) filter (where area_id is not null and area_type <> 'city') as records_with_area
    from {{ ref('int_crime_incidents_classified') }}
    where crime_category is not null
    group by all

),

permits as (

    select
        city, dataset, 'building_permits_rate' as indicator_id, issued_month as period_start,
        count(*) as all_records,
        count(*) filter (where area_id is not null and area_type <> 'city') as records_with_area
    from {{ ref('int_building_permits') }}
    group by all

),

permit_costs as (

    select
        city, dataset, 'building_permit_cost_rate' as indicator_id, issued_month as period_start,
        coalesce(sum(indicator_cost_usd), 0) as all_records,
        coalesce(sum(indicator_cost_usd) filter (where area_id is not null and area_type <> 'city'), 0)
            as records_with_area
    from {{ ref('int_building_permits') }}
    group by all

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
        city,
        source_dataset,
        indicator_id,
        period_start,
        period_grain,
        sum(numerator) filter (where area_type = 'city') as city_numerator,
        sum(numerator) filter (where area_type <> 'city') as area_numerator_sum,
        sum(denominator) filter (where area_type = 'city') as city_denominator,
        sum(denominator) filter (where area_type <> 'city') as area_denominator_sum,
        count(*) filter (where area_type <> 'city') as n_area_rows
    from facts
    where area_type not in ('school', 'county')
    group by all

),

record_based as (

    select actual.*, expected.all_records, expected.records_with_area
    from actual
    inner join expected
        on expected.city = actual.city
        and expected.dataset = actual.source_dataset
        and expected.indicator_id = actual.indicator_id
        and expected.period_start = actual.period_start
    where actual.period_grain = 'month'

),

cities as (

    select * from {{ ref('stg_cities') }}

)

select 'records' as rule, city, indicator_id, period_start, city_numerator, all_records as expected
from record_based
where (city_numerator is distinct from all_records
       -- a second dataset of the indicator by another area type (e.g. shootings by precinct
       -- beside the boroughs') has no city row of its own: the first listed dataset's is kept
       and not exists (
           select 1 from facts as city_row
           where city_row.city = record_based.city and city_row.area_type = 'city'
             and city_row.indicator_id = record_based.indicator_id
             and city_row.period_grain = 'month' and city_row.period_start = record_based.period_start
             and city_row.source_dataset <> record_based.source_dataset
       ))
   or (n_area_rows > 0 and area_numerator_sum is distinct from records_with_area)

union all

select 'published counts', city, indicator_id, period_start, city_numerator, area_numerator_sum
from actual
where period_grain = 'year'
  and indicator_id in ('violent_crime_rate', 'property_crime_rate', 'homicide_rate')
  and n_area_rows > 0
  and city_numerator is distinct from area_numerator_sum
  and source_dataset in (select dataset from {{ ref('int_crime_counts') }} where city = actual.city)

union all

select 'denominators', actual.city, actual.indicator_id, actual.period_start,
    actual.city_denominator, actual.area_denominator_sum
from actual
inner join cities on cities.city = actual.city and cities.population_choice = 'areas'
where actual.n_area_rows > 0
  and actual.city_denominator is not null
  and actual.city_denominator is distinct from actual.area_denominator_sum
