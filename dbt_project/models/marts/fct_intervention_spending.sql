-- Money beside results: the spending lines the registry ties to each local intervention,
-- year by year as the city's spending data give them, with the change since the first year
-- present and since the year before. Amounts are the department's (appropriated or spent,
-- as the city publishes: fct_indicator_values' appropriations_total / expenditures_total by
-- department); a program line inside a department is named when the registry gives one but
-- only departments are matched. A line that matches no department stays, with
-- is_matched = false, so a typo is seen rather than dropped.
with lines as (

    select * from {{ ref('stg_registry__intervention_budget_lines') }}

),

interventions as (

    select city, local_intervention_id, local_intervention_name, start_month
    from {{ ref('stg_registry__local_interventions') }}

),

spending as (

    select city, indicator_id as spending_indicator, breakdown_value as published_department,
        year(period_start) as fiscal_year, value as amount, unit
    from {{ ref('fct_indicator_values') }}
    where breakdown_type = 'department'
      and indicator_id in ('appropriations_total', 'expenditures_total')
      and period_grain = 'year'

),

matched as (

    select
        lines.city, lines.local_intervention_id, lines.line_number, lines.department_name,
        lines.program, lines.note, spending.spending_indicator, spending.published_department,
        spending.fiscal_year, spending.amount, spending.unit
    from lines
    inner join spending
        on spending.city = lines.city
        and lower(spending.published_department) = lower(lines.department_spelling)

),

by_year as (

    -- one figure per line and year (a year's file uses one spelling)
    select city, local_intervention_id, line_number, any_value(department_name) as department_name,
        any_value(program) as program, any_value(note) as note, spending_indicator, fiscal_year,
        string_agg(distinct published_department, '; ') as published_department,
        sum(amount) as amount, any_value(unit) as unit
    from matched
    group by city, local_intervention_id, line_number, spending_indicator, fiscal_year

),

unmatched as (

    select city, local_intervention_id, line_number, any_value(department_name) as department_name,
        any_value(program) as program, any_value(note) as note
    from lines
    where not exists (
        select 1 from matched
        where matched.city = lines.city and matched.local_intervention_id = lines.local_intervention_id
          and matched.line_number = lines.line_number
    )
    group by all

)

select
    by_year.city,
    by_year.local_intervention_id,
    interventions.local_intervention_name as intervention_name,
    by_year.line_number,
    by_year.department_name,
    by_year.published_department,
    by_year.program,
    by_year.note,
    by_year.spending_indicator,
    by_year.fiscal_year,
    by_year.fiscal_year - year(interventions.start_month) as years_from_start,
    by_year.amount,
    by_year.unit,
    first_value(by_year.amount) over line_years as first_year_amount,
    first_value(by_year.fiscal_year) over line_years as first_fiscal_year,
    100 * (by_year.amount / nullif(first_value(by_year.amount) over line_years, 0) - 1)
        as change_since_first_year_pct,
    100 * (by_year.amount / nullif(lag(by_year.amount) over line_years, 0) - 1)
        as change_since_previous_pct,
    lag(by_year.fiscal_year) over line_years as previous_fiscal_year,
    true as is_matched
from by_year
inner join interventions using (city, local_intervention_id)
window line_years as (
    partition by by_year.city, by_year.local_intervention_id, by_year.line_number, by_year.spending_indicator
    order by by_year.fiscal_year
)

union all

select
    unmatched.city, unmatched.local_intervention_id, interventions.local_intervention_name,
    unmatched.line_number, unmatched.department_name, null, unmatched.program, unmatched.note,
    null, null, null, null, null, null, null, null, null, null, false
from unmatched
inner join interventions using (city, local_intervention_id)
