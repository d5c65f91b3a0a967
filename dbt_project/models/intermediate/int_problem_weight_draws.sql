-- The draws behind the ranking's uncertainty. draw_set 'base' (draw 0) holds the configured
-- weights (seed scoring_weights, parameter sets importance, tractability, priority) and the
-- data as measured. Three sets of N draws (N = sensitivity.draws) move:
--   weights  every weight x a factor uniform in [1 - weight_spread, 1 + weight_spread];
--   data     the data inputs within their uncertainty (int_problem_outcome_draws), weights fixed;
--   joint    both at once: the uncertainty the ranking reports.
-- Draws are deterministic: the uniform is hash(seed, draw, parameter_set, parameter) mod 1e6
-- / 1e6, the same for draw d of the weights and joint sets, so the sets differ only in what
-- moves. This model holds the weights of every draw; the data draws are keyed by the same
-- (draw_set, draw_id).
with weights as (

    select * from {{ ref('scoring_weights') }}

),

settings as (

    select
        max(value) filter (where parameter = 'draws') as draws,
        max(value) filter (where parameter = 'weight_spread') as spread,
        max(value) filter (where parameter = 'seed') as seed
    from weights
    where parameter_set = 'sensitivity'

),

draw_ids as (

    select 'base' as draw_set, 0 as draw_id

    union all

    select draw_set, draw_id
    from range(1, 10001) as draws (draw_id), settings,
        (values ('weights'), ('data'), ('joint')) as sets (draw_set)
    where draw_id <= settings.draws

),

scored_weights as (

    select * from weights
    where parameter_set in ('importance', 'tractability', 'priority')

)

select
    cast(draw_ids.draw_set as varchar) as draw_set,
    cast(draw_ids.draw_id as integer) as draw_id,
    scored_weights.parameter_set,
    scored_weights.parameter,
    scored_weights.value as base_weight,
    cast(case
        when draw_ids.draw_set in ('base', 'data') then 1.0
        else 1 - settings.spread + 2 * settings.spread * (
            hash(cast(settings.seed as bigint), draw_ids.draw_id,
                scored_weights.parameter_set, scored_weights.parameter) % 1000000
        ) / 1000000.0
    end as double) as multiplier,
    scored_weights.value * multiplier as weight
from draw_ids
cross join scored_weights
cross join settings
