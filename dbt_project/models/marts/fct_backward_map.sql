-- The backward map: problem -> causal factor -> actors by sector -> the city's authority ->
-- the budget lines and dollars funding efforts against it (from the city's real spending
-- data) -> interventions known and tried. One row per city x problem x factor; the actors of
-- each sector are listed in one column per sector (engaged local actors marked '*').
with factors as (

    select * from {{ ref('int_problem_factors') }}

),

problems as (

    select city, problem_id, problem_name from {{ ref('stg_registry__problems') }}

),

actors as (

    select
        city,
        problem_id,
        factor_id,
        {% for sector in ['government', 'philanthropy', 'corporate_civic', 'community', 'nonprofit'] %}
        string_agg(actor_name || case when is_engaged then ' *' else '' end, '; ' order by not is_engaged, actor_name)
            filter (where sector = '{{ sector }}') as {{ sector }}_actors,
        {% endfor %}
        string_agg(distinct sector, ', ' order by sector) filter (where is_engaged) as engaged_sectors
    from {{ ref('stg_registry__actors') }}
    group by all

),

budget as (

    select
        city,
        problem_id,
        factor_id,
        string_agg(
            department_name || ' ' || printf('%.0f', 100 * attributed_share) || ' %'
            || case when match_status = 'matched'
                then ' of $' || printf('%,.0f', department_amount_usd) || ' (FY' || fiscal_year || ') = $'
                    || printf('%,.0f', attributed_usd)
                else ' (no such department / agency in the spending data)' end,
            '; ' order by department_name
        ) as budget_lines,
        string_agg(department_name, '; ' order by department_name) filter (where match_status = 'unmatched')
            as unmatched_budget_lines,
        max(fiscal_year) as fiscal_year,
        max(spending_kind) as spending_kind
    from {{ ref('int_problem_budget_lines') }}
    group by all

),

interventions as (

    select
        city,
        problem_id,
        factor_id,
        string_agg(intervention_name || ' (' || evidence_rating || ')', '; ' order by intervention_name)
            as interventions,
        string_agg(
            intervention_name || ': ' || local_where || coalesce(', since ' || local_since, '')
                || coalesce(', ' || local_led_by, '') || coalesce(' [' || local_status || ']', ''),
            '; ' order by intervention_name
        ) filter (where is_tried_locally) as tried_locally
    from {{ ref('stg_registry__interventions') }}
    group by all

)

select
    cast(factors.city as varchar) as city,
    cast(factors.problem_id as varchar) as problem_id,
    cast(problems.problem_name as varchar) as problem_name,
    cast(factors.factor_id as varchar) as factor_id,
    cast(factors.factor_name as varchar) as factor_name,
    cast(factors.causal_share as double) as causal_share,
    cast(factors.link_evidence as varchar) as link_evidence,
    cast(factors.authority as varchar) as authority,
    cast(factors.authority_score as double) as authority_score,
    cast(factors.authority_note as varchar) as authority_note,
    cast(factors.authority_set_by as varchar) as authority_set_by,
    cast(actors.government_actors as varchar) as government_actors,
    cast(actors.philanthropy_actors as varchar) as philanthropy_actors,
    cast(actors.corporate_civic_actors as varchar) as corporate_civic_actors,
    cast(actors.community_actors as varchar) as community_actors,
    cast(actors.nonprofit_actors as varchar) as nonprofit_actors,
    cast(actors.engaged_sectors as varchar) as engaged_sectors,
    cast(factors.n_engaged_actors as integer) as n_engaged_actors,
    cast(budget.budget_lines as varchar) as budget_lines,
    cast(factors.budget_usd as double) as budget_usd,
    cast(budget.fiscal_year as integer) as budget_fiscal_year,
    cast(budget.spending_kind as varchar) as spending_kind,
    cast(budget.unmatched_budget_lines as varchar) as unmatched_budget_lines,
    cast(interventions.interventions as varchar) as interventions,
    cast(factors.best_intervention as varchar) as best_intervention,
    cast(factors.best_evidence_rating as varchar) as best_evidence_rating,
    cast(interventions.tried_locally as varchar) as tried_locally
from factors
inner join problems using (city, problem_id)
left join actors using (city, problem_id, factor_id)
left join budget using (city, problem_id, factor_id)
left join interventions using (city, problem_id, factor_id)
