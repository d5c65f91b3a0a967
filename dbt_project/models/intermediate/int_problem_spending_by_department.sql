-- City spending by department / agency in each city's latest fiscal year, in one shape the
-- problem registry's budget lines can be matched against (by exact name):
--   chicago: budget ordinance appropriations, all funds (int_appropriations_by_department);
--   nyc:     General Fund expenditures by agency, without transfers to debt service
--            (int_nyc_expenditures_by_agency).
-- A new city adds one branch here, naming its spending model.
with chicago as (

    select
        'chicago' as city,
        fiscal_year,
        department_name,
        sum(amount_usd) as amount_usd,
        'appropriations (budget ordinance)' as spending_kind
    from {{ ref('int_appropriations_by_department') }}
    group by all

),

nyc as (

    select
        'nyc' as city,
        fiscal_year,
        agency_name as department_name,
        sum(amount_usd) as amount_usd,
        'expenditures (ACFR General Fund)' as spending_kind
    from {{ ref('int_nyc_expenditures_by_agency') }}
    where not is_other_financing_use
      and agency_name is not null
    group by all

),

spending as (

    select * from chicago
    union all
    select * from nyc

)

select
    cast(city as varchar) as city,
    cast(fiscal_year as integer) as fiscal_year,
    cast(department_name as varchar) as department_name,
    cast(amount_usd as double) as amount_usd,
    cast(spending_kind as varchar) as spending_kind
from spending
-- the latest fiscal year of each city
qualify fiscal_year = max(fiscal_year) over (partition by city)
