-- The registry's budget lines matched to the city's spending (int_problem_spending_by_department)
-- by exact department / agency name. attributed_usd = the department's spending x the share
-- the registry attributes to the factor. A name that matches nothing keeps its row with
-- match_status 'unmatched' (and no amount) so it shows in the backward map and the warning
-- test assert_registry_budget_lines_match_spending.
with budget_lines as (

    select * from {{ ref('stg_registry__budget_lines') }}

),

spending as (

    select * from {{ ref('int_problem_spending_by_department') }}

)

select
    budget_lines.city,
    budget_lines.problem_id,
    budget_lines.factor_id,
    budget_lines.department_name,
    budget_lines.attributed_share,
    budget_lines.note,
    spending.fiscal_year,
    spending.spending_kind,
    spending.amount_usd as department_amount_usd,
    spending.amount_usd * budget_lines.attributed_share as attributed_usd,
    case when spending.department_name is null then 'unmatched' else 'matched' end as match_status
from budget_lines
left join spending
    on spending.city = budget_lines.city
    and spending.department_name = budget_lines.department_name
