-- One row per city x problem x causal factor with everything tractability and the backward
-- map need: the factor's share of the problem's causal weight, the city's authority over it
-- (and its score on the authority scale), the best evidence rating among the interventions
-- targeting it, the actors and sectors engaged on it, and the city budget funding it.
-- Scales come from the seed scoring_weights (parameter sets authority_scale, evidence_scale).
with factors as (

    select * from {{ ref('stg_registry__factors') }}

),

weights as (

    select * from {{ ref('scoring_weights') }}

),

authority_scale as (

    select parameter as authority, value as authority_score
    from weights
    where parameter_set = 'authority_scale'

),

evidence_scale as (

    select parameter as evidence_rating, value as evidence_score
    from weights
    where parameter_set = 'evidence_scale'

),

interventions as (

    select
        interventions.city,
        interventions.problem_id,
        interventions.factor_id,
        max(evidence_scale.evidence_score) as best_evidence_score,
        arg_max(interventions.evidence_rating, evidence_scale.evidence_score) as best_evidence_rating,
        arg_max(interventions.intervention_name, evidence_scale.evidence_score) as best_intervention,
        count(*) as n_interventions,
        count(*) filter (where interventions.is_tried_locally) as n_tried_locally
    from {{ ref('stg_registry__interventions') }} as interventions
    left join evidence_scale using (evidence_rating)
    group by all

),

actors as (

    select
        city,
        problem_id,
        factor_id,
        count(*) as n_actors,
        count(distinct sector) as n_sectors,
        count(*) filter (where is_engaged) as n_engaged_actors,
        count(distinct sector) filter (where is_engaged) as n_engaged_sectors
    from {{ ref('stg_registry__actors') }}
    group by all

),

budget as (

    select
        city,
        problem_id,
        factor_id,
        count(*) as n_budget_lines,
        count(*) filter (where match_status = 'unmatched') as n_unmatched_budget_lines,
        sum(attributed_usd) as budget_usd
    from {{ ref('int_problem_budget_lines') }}
    group by all

)

select
    factors.city,
    factors.problem_id,
    factors.factor_id,
    factors.factor_name,
    factors.causal_weight,
    -- the registry checks causal weights sum to 1; divide anyway so shares always add up
    factors.causal_weight / sum(factors.causal_weight) over (
        partition by factors.city, factors.problem_id
    ) as causal_share,
    factors.link_evidence,
    factors.authority,
    factors.authority_note,
    factors.authority_set_by,
    authority_scale.authority_score,
    coalesce(interventions.best_evidence_score, 0) as best_evidence_score,
    interventions.best_evidence_rating,
    interventions.best_intervention,
    coalesce(interventions.n_interventions, 0) as n_interventions,
    coalesce(interventions.n_tried_locally, 0) as n_tried_locally,
    coalesce(actors.n_actors, 0) as n_actors,
    coalesce(actors.n_sectors, 0) as n_sectors,
    coalesce(actors.n_engaged_actors, 0) as n_engaged_actors,
    coalesce(actors.n_engaged_sectors, 0) as n_engaged_sectors,
    coalesce(budget.n_budget_lines, 0) as n_budget_lines,
    coalesce(budget.n_unmatched_budget_lines, 0) as n_unmatched_budget_lines,
    coalesce(budget.budget_usd, 0) as budget_usd
from factors
left join authority_scale using (authority)
left join interventions using (city, problem_id, factor_id)
left join actors using (city, problem_id, factor_id)
left join budget using (city, problem_id, factor_id)
