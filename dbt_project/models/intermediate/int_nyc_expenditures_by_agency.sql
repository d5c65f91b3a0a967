-- NYC General Fund spending per fiscal year and agency line, in dollars: the LINE rows of the
-- ACFR table only (the printed subtotals and grand totals, row_type 'total', would double
-- count; tests/assert_nyc_expenditure_lines_sum_to_printed_totals checks the lines add up to
-- them). is_other_financing_use marks the 'Transfers - ...' sections (transfers to the debt
-- service funds): the ACFR reports them below "Total Expenditures" as other financing uses,
-- and the expenditure indicators leave them out (docs block nyc_expenditures_rule).
with expenditures as (

    select * from {{ ref('stg_nyc__expenditures') }}

)

select
    fiscal_year,
    function_name,
    agency_code,
    agency_name,
    amount_usd,
    function_name like 'Transfers - %' as is_other_financing_use,
    source_row
from expenditures
where row_type = 'line'
