-- A plain-language paragraph per city x problem saying why it ranks where it does: its rank
-- and quadrant, the two components contributing most to importance and to tractability, the
-- weakest tractability component, what could not be scored, and how uncertain the rank is
-- (its interval and probability of being first over the joint draws of data and weights).
-- Built only from fct_problem_ranking and fct_problem_score_components.
with ranking as (

    select * from {{ ref('fct_problem_ranking') }}

),

components as (

    select
        *,
        row_number() over (
            partition by city, problem_id, score_name order by contribution desc nulls last, component asc
        ) as contribution_order,
        row_number() over (
            partition by city, problem_id, score_name order by component_value asc nulls last, component asc
        ) as weakness_order
    from {{ ref('fct_problem_score_components') }}

),

labelled as (

    select
        *,
        case component
            when 'gap_to_target' then 'the gap to its target'
            when 'gap_to_peers' then 'the gap to peers and the best-performing areas'
            when 'people_affected' then 'the share of residents in areas short of the target'
            when 'trend' then 'its trend'
            when 'early_warnings' then 'active early warnings'
            when 'city_authority' then 'the city''s authority over its causes'
            when 'intervention_evidence' then 'evidence-rated interventions'
            when 'achievability' then 'peers showing the target can be reached'
            when 'spending_leverage' then 'city budget lines already funding its causes'
            when 'engaged_actors' then 'actors already engaged on it'
        end || ' (' || printf('%.2f', component_value) || ')' as phrase
    from components

),

phrases as (

    select
        city,
        problem_id,
        string_agg(phrase, ' and ' order by contribution_order)
            filter (where score_name = 'importance' and contribution_order <= 2 and component_value is not null)
            as importance_drivers,
        string_agg(phrase, ' and ' order by contribution_order)
            filter (where score_name = 'tractability' and contribution_order <= 2 and component_value is not null)
            as tractability_drivers,
        max(phrase) filter (where score_name = 'tractability' and weakness_order = 1 and component_value is not null)
            as tractability_weakest,
        string_agg(replace(component, '_', ' '), ', ' order by component) filter (where component_value is null)
            as not_scored
    from labelled
    group by all

)

select
    cast(ranking.city as varchar) as city,
    cast(ranking.problem_id as varchar) as problem_id,
    cast(ranking.priority_rank as integer) as priority_rank,
    cast(ranking.quadrant as varchar) as quadrant,
    cast(
        ranking.problem_name || ' ranks ' || ranking.priority_rank || ' of ' || ranking.n_problems
        || ' (priority ' || coalesce(printf('%.2f', ranking.priority_score), 'n/a') || '). '
        || case when ranking.importance is null then 'It has no outcome data in this city yet. '
            else 'Importance is ' || printf('%.2f', ranking.importance)
                || coalesce(', driven by ' || phrases.importance_drivers, '') || '. ' end
        || 'Tractability is ' || coalesce(printf('%.2f', ranking.tractability), 'n/a')
        || coalesce(', helped most by ' || phrases.tractability_drivers, '')
        || coalesce('; weakest is ' || phrases.tractability_weakest, '') || '. '
        || ranking.strategy
        || coalesce(' Not scored for lack of data: ' || phrases.not_scored || '.', '')
        || case when ranking.n_draws > 0 then
            ' Allowing for the uncertainty of its data and of the weights (each weight moved by up to '
            || printf('%.0f', 100 * {{ scoring_parameter('sensitivity', 'weight_spread') }})
            || ' %), it ranks '
            || case when ranking.rank_interval_low = ranking.rank_interval_high
                then ranking.rank_interval_low || ' in '
                    || printf('%.0f', 100 * {{ scoring_parameter('sensitivity', 'rank_interval') }}) || ' % of '
                else 'between ' || ranking.rank_interval_low || ' and ' || ranking.rank_interval_high || ' in '
                    || printf('%.0f', 100 * {{ scoring_parameter('sensitivity', 'rank_interval') }}) || ' % of ' end
            || ranking.n_draws || ' draws (same rank in ' || printf('%.0f', 100 * ranking.rank_stability)
            || ' %; ' || printf('%.0f', 100 * coalesce(ranking.rank_stability_data, 0))
            || ' % with the data alone moving, '
            || printf('%.0f', 100 * coalesce(ranking.rank_stability_weights, 0)) || ' % with the weights alone)'
            || case when ranking.p_first > 0
                then '; first in ' || printf('%.0f', 100 * ranking.p_first) || ' % of them' else '' end
            || '.'
            else '' end
    as varchar) as explanation
from ranking
inner join phrases using (city, problem_id)
