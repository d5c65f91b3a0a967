-- Every city's spending per fiscal year and department / agency, in dollars, from the lines
-- in scope (printed subtotals, transfers and other lines a catalog filters out stay in
-- stg_spending): appropriations (a budget) or expenditures (actuals), as the dataset says.
-- Negative lines (e.g. transfers between funds) are netted in, as in the published totals.
with spending as (

    select * from {{ ref('stg_spending') }}
    where excluded_by is null and fiscal_year is not null

)

select
    city,
    dataset,
    dataset_priority,
    spending_kind,
    fiscal_year,
    department as department_name,
    sum(amount_usd) as amount_usd,
    count(*) as line_count
from spending
group by all
