-- Every score component of every city x problem, normalised to 0-1, in long form: one row
-- per city x problem x draw (int_problem_weight_draws: draw_set 'base' = as measured; the
-- 'data' and 'joint' draws move the outcome inputs within their uncertainty,
-- int_problem_outcome_draws) x score (importance | tractability) x component.
-- component_value is null when the city's data cannot inform it (e.g. no target): the score
-- then averages the components it has (see fct_problem_scores). Formulas in docs block
-- problem_scoring.
--
-- importance (outcome components are outcome_weight-weighted means over the problem's
-- outcome indicators that have data):
--   gap_to_target   = target_shortfall
--   gap_to_peers    = peer_shortfall
--   people_affected = affected_share
--   trend           = clamp(0.5 + relative_trend / (2 x trend_saturation_per_year))
--   early_warnings  = min(1, warned_population_share / early_warning_share_saturation)
-- tractability (factor components are causal_share-weighted sums over the factors):
--   city_authority        = sum(causal_share x authority_score)
--   intervention_evidence = sum(causal_share x best_evidence_score)
--   achievability         = outcome-weighted mean of achievability
--   spending_leverage     = sum(causal_share x [budget_usd > 0])
--   engaged_actors        = sum(causal_share x min(1, n_engaged_sectors / engaged_sector_saturation))
{%- set trend_saturation = scoring_parameter('normalization', 'trend_saturation_per_year') %}
{%- set warning_saturation = scoring_parameter('normalization', 'early_warning_share_saturation') %}
{%- set sector_saturation = scoring_parameter('normalization', 'engaged_sector_saturation') %}
with outcomes as (

    select * from {{ ref('stg_registry__outcomes') }}

),

status as (

    select * from {{ ref('int_problem_outcome_draws') }}

),

draws as (

    select distinct draw_set, draw_id from {{ ref('int_problem_weight_draws') }}

),

factors as (

    select * from {{ ref('int_problem_factors') }}

),

outcome_components as (

    select
        outcomes.city,
        outcomes.problem_id,
        outcomes.indicator_id,
        status.draw_set,
        status.draw_id,
        outcomes.outcome_weight,
        status.target_shortfall as gap_to_target,
        status.peer_shortfall as gap_to_peers,
        status.affected_share as people_affected,
        {{ unit_interval('0.5 + status.relative_trend / (2 * ' ~ trend_saturation ~ ')') }} as trend,
        least(1, status.warned_population_share / {{ warning_saturation }}) as early_warnings,
        status.achievability
    from outcomes
    -- outcomes without data in the city (e.g. shootings outside NYC) drop out here
    inner join status
        on status.city = outcomes.city
        and status.indicator_id = outcomes.indicator_id

),

outcome_long as (

    unpivot outcome_components
    on gap_to_target, gap_to_peers, people_affected, trend, early_warnings, achievability
    into name component value component_value

),

outcome_scores as (

    -- unpivot drops nulls: the mean is over the outcomes that inform the component
    select
        city,
        problem_id,
        draw_set,
        draw_id,
        case when component = 'achievability' then 'tractability' else 'importance' end as score_name,
        component,
        sum(outcome_weight * component_value) / sum(outcome_weight) as component_value,
        string_agg(indicator_id, ', ' order by indicator_id) as inputs
    from outcome_long
    group by all

),

factor_scores as (

    select
        city,
        problem_id,
        sum(causal_share * authority_score) as city_authority,
        sum(causal_share * best_evidence_score) as intervention_evidence,
        sum(causal_share * case when budget_usd > 0 then 1 else 0 end) as spending_leverage,
        sum(causal_share * least(1, n_engaged_sectors / {{ sector_saturation }})) as engaged_actors,
        string_agg(factor_id, ', ' order by factor_id) as inputs
    from factors
    group by all

),

factor_long as (

    unpivot factor_scores
    on city_authority, intervention_evidence, spending_leverage, engaged_actors
    into name component value component_value

),

components as (

    -- every component of every problem and draw, null when nothing informs it
    select problems.city, problems.problem_id, draws.draw_set, draws.draw_id,
        weights.parameter_set as score_name, weights.parameter as component
    from {{ ref('stg_registry__problems') }} as problems
    cross join {{ ref('scoring_weights') }} as weights
    cross join draws
    where weights.parameter_set in ('importance', 'tractability')

)

select
    components.city,
    components.problem_id,
    cast(components.draw_set as varchar) as draw_set,
    cast(components.draw_id as integer) as draw_id,
    components.score_name,
    components.component,
    cast(coalesce(outcome_scores.component_value, factor_long.component_value) as double) as component_value,
    cast(case
        when outcome_scores.component is not null then 'outcomes: ' || outcome_scores.inputs
        when factor_long.component is not null then 'factors: ' || factor_long.inputs
    end as varchar) as inputs
from components
left join outcome_scores using (city, problem_id, draw_set, draw_id, score_name, component)
left join factor_long
    on factor_long.city = components.city
    and factor_long.problem_id = components.problem_id
    and factor_long.component = components.component
