-- Who is innovating, and on what: one row per local intervention of the ledger with the
-- lead actor, their sector and level, the kind of idea, the backward-map factors it works on,
-- the evidence for it elsewhere, and what the city's own data say so far (verdict counts over
-- its outcomes, and the headline: its first outcome with a number, else its first).
with interventions as (

    select * from {{ ref('stg_registry__local_interventions') }}

),

known as (

    -- the problem's intervention: evidence rating and the factors it targets
    select city, problem_id, intervention_id,
        any_value(intervention_name) as intervention_kind_name,
        any_value(evidence_rating) as evidence_rating,
        string_agg(factor_id, ', ' order by factor_id) as factor_ids,
        count(*) as n_factors
    from {{ ref('stg_registry__interventions') }}
    group by all

),

factors as (

    select city, problem_id, factor_id, factor_name from {{ ref('stg_registry__factors') }}

),

factor_names as (

    select known_rows.city, known_rows.problem_id, known_rows.intervention_id,
        string_agg(factors.factor_name, '; ' order by factors.factor_name) as factor_names
    from {{ ref('stg_registry__interventions') }} as known_rows
    inner join factors using (city, problem_id, factor_id)
    group by all

),

areas as (

    select city, local_intervention_id, count(*) filter (where area_role = 'treated') as n_areas
    from {{ ref('stg_registry__intervention_areas') }}
    group by all

),

effects as (

    select * from {{ ref('fct_intervention_effects') }}

),

verdicts as (

    select city, local_intervention_id,
        count(*) as n_outcomes,
        count(*) filter (where verdict = 'improved') as n_improved,
        count(*) filter (where verdict = 'worsened') as n_worsened,
        count(*) filter (where verdict = 'no change detected') as n_no_change,
        count(*) filter (where verdict = 'too early / not enough data') as n_not_enough_data,
        arg_min(verdict, case when verdict = 'too early / not enough data' then 1 else 0 end) as headline_verdict,
        arg_min(
            verdict_sentence, case when verdict = 'too early / not enough data' then 1 else 0 end
        ) as headline_sentence
    from effects
    group by all

)

select
    interventions.city,
    interventions.problem_id,
    interventions.local_intervention_id,
    interventions.local_intervention_name as intervention_name,
    interventions.intervention_id,
    known.intervention_kind_name,
    known.evidence_rating,
    known.factor_ids,
    factor_names.factor_names,
    known.n_factors,
    interventions.led_by,
    interventions.lead_sector,
    interventions.leadership,
    interventions.kind,
    interventions.status,
    interventions.start_month,
    interventions.start_precision,
    interventions.end_month,
    interventions.area_type,
    coalesce(areas.n_areas, 0) as n_areas,
    interventions.where_text,
    interventions.sources,
    interventions.notes,
    coalesce(verdicts.n_outcomes, 0) as n_outcomes,
    coalesce(verdicts.n_improved, 0) as n_improved,
    coalesce(verdicts.n_worsened, 0) as n_worsened,
    coalesce(verdicts.n_no_change, 0) as n_no_change,
    coalesce(verdicts.n_not_enough_data, 0) as n_not_enough_data,
    coalesce(verdicts.headline_verdict, 'too early / not enough data') as headline_verdict,
    verdicts.headline_sentence
from interventions
left join known using (city, problem_id, intervention_id)
left join factor_names using (city, problem_id, intervention_id)
left join areas using (city, local_intervention_id)
left join verdicts using (city, local_intervention_id)
