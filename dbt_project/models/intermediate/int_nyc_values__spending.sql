-- NYC General Fund expenditures per fiscal year (docs block nyc_expenditures_rule):
--   expenditures_total         citywide, by agency line (breakdown 'department', the agency
--                              name as published) and in total (breakdown 'all' = sum of
--                              the lines = the ACFR's printed "Total Expenditures")
--   expenditures_per_resident  citywide total / city population
-- Expenditures only: the transfers to debt service funds (other financing uses) are left
-- out. NYC's fiscal year N runs from July 1 of N-1 to June 30 of N; period_start is
-- January 1 of N (year grain, like Chicago's fiscal years). The per-resident denominator is
-- the population estimate of July 1 of N-1, the first day of the fiscal year (the estimates
-- end in 2022, which also covers FY2023).
with lines as (

    select * from {{ ref('int_nyc_expenditures_by_agency') }}
    where not is_other_financing_use

),

city_totals as (

    select fiscal_year, sum(amount_usd) as amount_usd
    from lines
    group by fiscal_year

),

by_agency as (

    select
        'expenditures_total' as indicator_id,
        'department' as breakdown_type,
        agency_name as breakdown_value,
        fiscal_year,
        cast(amount_usd as double) as value,
        cast(null as double) as numerator,
        cast(null as double) as denominator
    from lines

),

total as (

    select
        'expenditures_total' as indicator_id,
        'all' as breakdown_type,
        'all' as breakdown_value,
        fiscal_year,
        cast(amount_usd as double) as value,
        cast(null as double) as numerator,
        cast(null as double) as denominator
    from city_totals

),

per_resident as (

    select
        'expenditures_per_resident' as indicator_id,
        'all' as breakdown_type,
        'all' as breakdown_value,
        city_totals.fiscal_year,
        cast(city_totals.amount_usd as double) / population.population as value,
        cast(city_totals.amount_usd as double) as numerator,
        cast(population.population as double) as denominator
    from city_totals
    left join {{ ref('int_nyc_city_population') }} as population
        on population.year = city_totals.fiscal_year - 1

),

all_values as (

    select * from by_agency
    union all
    select * from total
    union all
    select * from per_resident

)

select
    'city' as area_type,
    'nyc' as area_id,
    'New York City' as area_name,
    indicator_id,
    breakdown_type,
    breakdown_value,
    make_date(fiscal_year, 1, 1) as period_start,
    'year' as period_grain,
    value,
    numerator,
    denominator
from all_values
