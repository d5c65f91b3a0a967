-- Weights of the rank sensitivity analysis: draw 0 holds the configured weights (seed
-- scoring_weights, parameter sets importance, tractability, priority); draws 1..N (N =
-- sensitivity.draws) multiply each weight by a factor drawn uniformly in
-- [1 - weight_spread, 1 + weight_spread]. The draws are deterministic: the uniform number is
-- hash(seed, draw, parameter_set, parameter) mod 1e6 / 1e6, so every run gives the same
-- draws until the seed changes.
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

    select draw_id
    from range(0, 10001) as draws(draw_id), settings
    where draw_id <= settings.draws

),

scored_weights as (

    select * from weights
    where parameter_set in ('importance', 'tractability', 'priority')

)

select
    cast(draw_ids.draw_id as integer) as draw_id,
    scored_weights.parameter_set,
    scored_weights.parameter,
    scored_weights.value as base_weight,
    cast(case
        when draw_ids.draw_id = 0 then 1.0
        else 1 - settings.spread + 2 * settings.spread * (
            hash(cast(settings.seed as bigint), draw_ids.draw_id,
                scored_weights.parameter_set, scored_weights.parameter) % 1000000
        ) / 1000000.0
    end as double) as multiplier,
    scored_weights.value * multiplier as weight
from draw_ids
cross join scored_weights
cross join settings
