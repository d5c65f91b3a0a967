-- Warns (does not fail) for every budget line of the problem registry whose department /
-- agency name matches nothing in the city's spending data (int_problem_spending_by_department):
-- a typo or a renamed department. Fix the name in sources/problems/cities/<city>.yml.
{{ config(severity='warn') }}

select city, problem_id, factor_id, department_name
from {{ ref('int_problem_budget_lines') }}
where match_status = 'unmatched'
