-- Spending lines paying for a local intervention: a department as named in the city's
-- spending data (one row per spelling: years' files may spell it differently) and, when
-- published, the program line inside it.
with source as (

    select * from {{ source('registry', 'problem_registry__intervention_budget_lines') }}

)

select
    cast(trim(city) as varchar) as city,
    cast(trim(local_intervention_id) as varchar) as local_intervention_id,
    cast(line_number as integer) as line_number,
    cast(trim(department_name) as varchar) as department_name,
    cast(trim(spelling) as varchar) as department_spelling,
    cast(nullif(trim(program), '') as varchar) as program,
    cast(nullif(trim(note), '') as varchar) as note
from source
