-- How the rank of each city x problem moves under the joint draws of the weights and the
-- data (draw_set 'joint' of int_problem_scores_by_draw: every weight x a uniform factor in
-- [1 - spread, 1 + spread], and every outcome input within its sampling uncertainty): the
-- share of draws in which the problem takes each rank. One row per city x problem x rank
-- reached; base_rank is the rank under the configured weights and the measured data.
with draws as (

    select * from {{ ref('int_problem_scores_by_draw') }}

),

base as (

    select city, problem_id, priority_rank as base_rank
    from draws
    where draw_set = 'base'

),

ranks as (

    select
        city,
        problem_id,
        priority_rank,
        count(*) as n_draws_at_rank,
        sum(count(*)) over (partition by city, problem_id) as n_draws
    from draws
    where draw_set = 'joint'
    group by city, problem_id, priority_rank

)

select
    cast(ranks.city as varchar) as city,
    cast(ranks.problem_id as varchar) as problem_id,
    cast(ranks.priority_rank as integer) as priority_rank,
    cast(base.base_rank as integer) as base_rank,
    cast(ranks.n_draws_at_rank as integer) as n_draws_at_rank,
    cast(ranks.n_draws as integer) as n_draws,
    cast(ranks.n_draws_at_rank / ranks.n_draws as double) as share_of_draws
from ranks
inner join base using (city, problem_id)
