-- Every component behind every problem score, with its weight and contribution, so each
-- score traces to its inputs: one row per city x problem x score x component.
--   weight_share  = weight / sum of the weights of the score's non-null components
--   contribution  = weight_share x component_value   (the score is the sum of contributions)
with components as (

    select * exclude (draw_set, draw_id) from {{ ref('int_problem_components') }}
    where draw_set = 'base'

),

weights as (

    select parameter_set as score_name, parameter as component, value as weight, description
    from {{ ref('scoring_weights') }}
    where parameter_set in ('importance', 'tractability')

),

weighted as (

    select
        components.*,
        weights.weight,
        weights.description as component_definition,
        case when components.component_value is not null then
            weights.weight / sum(case when components.component_value is not null then weights.weight end)
                over (partition by components.city, components.problem_id, components.score_name)
        end as weight_share
    from components
    inner join weights using (score_name, component)

)

select
    cast(city as varchar) as city,
    cast(problem_id as varchar) as problem_id,
    cast(score_name as varchar) as score_name,
    cast(component as varchar) as component,
    cast(component_value as double) as component_value,
    cast(weight as double) as weight,
    cast(weight_share as double) as weight_share,
    cast(weight_share * component_value as double) as contribution,
    cast(inputs as varchar) as inputs,
    cast(component_definition as varchar) as component_definition
from weighted
