-- The line items of the NYC ACFR expenditure table add up to its printed totals (amounts in
-- thousands of dollars, exact):
--   * per function with a printed subtotal: sum of its lines = the subtotal
--     (the functions with a single line, e.g. Education or Pensions, print no subtotal);
--   * grand totals: expenditure lines = "Total Expenditures", transfer lines =
--     "Total Transfers", all lines = "Total Expenditures and Other Financing Uses".
-- Also fails when an expected grand total is missing. One row per mismatch.
-- (The table is NYC's; for a city without it the test has nothing to check.)
with expenditures as (

    select
        fiscal_year,
        function as function_name,
        department as agency_name,
        row_type,
        amount_usd / 1000 as amount_thousands_usd
    from {{ ref('stg_spending') }}
    where city = 'nyc' and dataset = 'expenditures'

),

lines as (

    select * from expenditures where row_type = 'line'

),

function_checks as (

    select
        totals.fiscal_year,
        totals.agency_name as total_label,
        totals.amount_thousands_usd as printed_total,
        (
            select coalesce(sum(lines.amount_thousands_usd), 0)
            from lines
            where lines.fiscal_year = totals.fiscal_year
              and lines.function_name = totals.function_name
        ) as sum_of_lines
    from expenditures as totals
    where totals.row_type = 'total'
      and totals.function_name <> 'All (grand total)'

),

grand_sums as (

    select
        fiscal_year,
        sum(amount_thousands_usd) filter (where function_name not like 'Transfers - %')
            as expenditures,
        sum(amount_thousands_usd) filter (where function_name like 'Transfers - %')
            as transfers,
        sum(amount_thousands_usd) as all_lines
    from lines
    group by fiscal_year

),

grand_expected as (

    select fiscal_year, 'Total Expenditures' as total_label, expenditures as sum_of_lines
    from grand_sums
    union all
    select fiscal_year, 'Total Transfers', transfers from grand_sums
    union all
    select fiscal_year, 'Total Expenditures and Other Financing Uses', all_lines from grand_sums

),

grand_checks as (

    select
        grand_expected.fiscal_year,
        grand_expected.total_label,
        printed.amount_thousands_usd as printed_total,
        grand_expected.sum_of_lines
    from grand_expected
    left join expenditures as printed
        on printed.fiscal_year = grand_expected.fiscal_year
        and printed.row_type = 'total'
        and printed.function_name = 'All (grand total)'
        and printed.agency_name = grand_expected.total_label

),

all_checks as (

    select * from function_checks
    union all
    select * from grand_checks

)

select *
from all_checks
where printed_total is distinct from sum_of_lines
