-- City spending by department / agency in each city's latest fiscal year, in one shape the
-- problem registry's budget lines can be matched against (by exact name): the lines in scope
-- of the city's spending datasets (int_spending_by_department), labelled with their kind and
-- dataset. A new city needs nothing here: its catalog's spending dataset is enough.
with spending as (

    select
        spending.city,
        spending.fiscal_year,
        spending.department_name,
        sum(spending.amount_usd) as amount_usd,
        spending.spending_kind || ' (' || coalesce(datasets.title, spending.dataset) || ')'
            as spending_kind
    from {{ ref('int_spending_by_department') }} as spending
    left join {{ source('meta', 'datasets') }} as datasets
        on datasets.city = spending.city and datasets.dataset = spending.dataset
    where spending.department_name is not null
    group by all

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
