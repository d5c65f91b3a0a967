-- Appropriated dollars per fiscal year and department (all funds, all accounts).
-- Negative lines (transfers between funds) are netted in, as in the ordinance totals.
with appropriations as (

    select * from {{ ref('stg_chicago__appropriations') }}

)

select
    fiscal_year,
    department_number,
    department_name,
    sum(amount_usd) as amount_usd,
    count(*) as appropriation_line_count
from appropriations
group by fiscal_year, department_number, department_name
