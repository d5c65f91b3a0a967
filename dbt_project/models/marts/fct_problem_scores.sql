-- Importance, tractability and priority of each city x problem under the configured weights
-- and the data as measured (draw_set 'base' of int_problem_scores_by_draw), with every 0-1 component beside them. The
-- components, weights and contributions are in fct_problem_score_components; the formula is
-- in the docs block problem_scoring and docs/prioritisation.md.
with scores as (

    select * from {{ ref('int_problem_scores_by_draw') }}
    where draw_set = 'base'

),

components as (

    select
        city,
        problem_id,
        {% for score, component in [
            ('importance', 'gap_to_target'), ('importance', 'gap_to_peers'),
            ('importance', 'people_affected'), ('importance', 'trend'),
            ('importance', 'early_warnings'), ('tractability', 'city_authority'),
            ('tractability', 'intervention_evidence'), ('tractability', 'achievability'),
            ('tractability', 'spending_leverage'), ('tractability', 'engaged_actors')] %}
        max(component_value) filter (where score_name = '{{ score }}' and component = '{{ component }}')
            as {{ score }}_{{ component }},
        {% endfor %}
        count(component_value) filter (where score_name = 'importance') as n_importance_components,
        count(component_value) filter (where score_name = 'tractability') as n_tractability_components
    from {{ ref('int_problem_components') }}
    where draw_set = 'base'
    group by all

),

problems as (

    select city, problem_id, problem_name from {{ ref('stg_registry__problems') }}

)

select
    cast(problems.city as varchar) as city,
    cast(problems.problem_id as varchar) as problem_id,
    cast(problems.problem_name as varchar) as problem_name,
    cast(scores.importance as double) as importance,
    cast(scores.tractability as double) as tractability,
    cast(scores.priority_score as double) as priority_score,
    {% for column in [
        'importance_gap_to_target', 'importance_gap_to_peers', 'importance_people_affected',
        'importance_trend', 'importance_early_warnings', 'tractability_city_authority',
        'tractability_intervention_evidence', 'tractability_achievability',
        'tractability_spending_leverage', 'tractability_engaged_actors'] %}
    cast(components.{{ column }} as double) as {{ column }},
    {% endfor %}
    cast(components.n_importance_components as integer) as n_importance_components,
    cast(components.n_tractability_components as integer) as n_tractability_components
from problems
inner join scores using (city, problem_id)
inner join components using (city, problem_id)
