-- Spending lines paying for a local intervention: a department as named in the city's
-- spending data and, when published, the program line inside it.
with source as (

    select * from {{ source('registry', 'problem_registry__intervention_budget_lines') }}

)

select
    cast(trim(city) as varchar) as city,
    cast(trim(local_intervention_id) as varchar) as local_intervention_id,
    cast(trim(department_name) as varchar) as department_name,
    cast(nullif(trim(program), '') as varchar) as program,
    cast(nullif(trim(note), '') as varchar) as note
from source
