-- Importance, tractability, priority and rank of every city x problem under every draw
-- (draw_set 'base' draw 0 = the configured weights and the data as measured; 'weights',
-- 'data', 'joint' draws move the weights, the data or both: int_problem_weight_draws):
--   importance   = sum(w_k x c_k) / sum(w_k) over the importance components c_k that are not null
--   tractability = the same over the tractability components
--   priority     = (w_importance x importance + w_tractability x tractability)
--                  / (w_importance + w_tractability)
--   rank         = 1 for the highest priority within the city (ties: problem_id)
with components as (

    select * from {{ ref('int_problem_components') }}
    where component_value is not null

),

draws as (

    select * from {{ ref('int_problem_weight_draws') }}

),

scores as (

    select
        components.city,
        components.problem_id,
        draws.draw_set,
        draws.draw_id,
        components.score_name,
        sum(draws.weight * components.component_value) / sum(draws.weight) as score
    from components
    inner join draws
        on draws.draw_set = components.draw_set
        and draws.draw_id = components.draw_id
        and draws.parameter_set = components.score_name
        and draws.parameter = components.component
    group by all

),

pivoted as (

    select
        city,
        problem_id,
        draw_set,
        draw_id,
        max(score) filter (where score_name = 'importance') as importance,
        max(score) filter (where score_name = 'tractability') as tractability
    from scores
    group by all

),

priority_weights as (

    select
        draw_set,
        draw_id,
        max(weight) filter (where parameter = 'importance') as importance_weight,
        max(weight) filter (where parameter = 'tractability') as tractability_weight
    from draws
    where parameter_set = 'priority'
    group by all

),

prioritised as (

    select
        pivoted.*,
        (priority_weights.importance_weight * pivoted.importance
            + priority_weights.tractability_weight * pivoted.tractability)
            / (priority_weights.importance_weight + priority_weights.tractability_weight)
            as priority_score
    from pivoted
    inner join priority_weights using (draw_set, draw_id)

)

select
    city,
    problem_id,
    cast(draw_set as varchar) as draw_set,
    cast(draw_id as integer) as draw_id,
    cast(importance as double) as importance,
    cast(tractability as double) as tractability,
    cast(priority_score as double) as priority_score,
    cast(row_number() over (
        partition by city, draw_set, draw_id
        order by priority_score desc nulls last, problem_id asc
    ) as integer) as priority_rank
from prioritised
