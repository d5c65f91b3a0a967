-- Where the city is (not) trying anything: every factor of each problem's backward map with
-- the local interventions working on it, their lead sectors and kinds; is_untried marks the
-- factors no local effort touches (the gaps a mayor can convene others on).
with factors as (

    select city, problem_id, factor_id, factor_name, causal_weight, authority
    from {{ ref('stg_registry__factors') }}

),

targets as (

    -- which local interventions work on which factor (through their known intervention)
    select portfolio.city, portfolio.problem_id, known.factor_id, portfolio.local_intervention_id,
        portfolio.intervention_name, portfolio.lead_sector, portfolio.kind, portfolio.headline_verdict
    from {{ ref('fct_innovation_portfolio') }} as portfolio
    inner join {{ ref('stg_registry__interventions') }} as known
        using (city, problem_id, intervention_id)

)

select
    factors.city,
    factors.problem_id,
    factors.factor_id,
    factors.factor_name,
    factors.causal_weight,
    factors.authority,
    count(targets.local_intervention_id) as n_local_interventions,
    count(targets.local_intervention_id) = 0 as is_untried,
    count(distinct targets.lead_sector) as n_lead_sectors,
    string_agg(distinct targets.lead_sector, ', ') as lead_sectors,
    string_agg(distinct targets.kind, ', ') as kinds,
    string_agg(targets.intervention_name, '; ' order by targets.intervention_name) as local_interventions,
    count(targets.local_intervention_id) filter (where targets.headline_verdict = 'improved') as n_improved
from factors
left join targets using (city, problem_id, factor_id)
group by all
