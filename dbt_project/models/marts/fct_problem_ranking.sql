-- The ranked list of problems per city with a strategy quadrant and the rank's sensitivity:
--   act_now           important and tractable
--   convene_and_align important, but the city's levers are weak: convene other sectors
--   quick_win         less important, tractable
--   monitor           neither
-- important = importance >= quadrant.importance_threshold, tractable = tractability >=
-- quadrant.tractability_threshold (seed scoring_weights). A problem without an importance
-- score (no outcome data in the city) is 'no_data' and ranks last.
-- Uncertainty of the rank over the joint draws of weights and data (int_problem_scores_by_draw,
-- draw_set 'joint'): rank_interval_low / _high (the central sensitivity.rank_interval share,
-- 90 %, of the draws' ranks), p_first (share of draws at rank 1), rank_stability (share at
-- the base rank), and the same stability when only the weights (rank_stability_weights) or
-- only the data (rank_stability_data) move. min_rank / max_rank / share_rank_1 /
-- share_at_base_rank are the joint draws' extremes and shares (kept for the pages).
with scores as (

    select * from {{ ref('fct_problem_scores') }}

),

draws as (

    select * from {{ ref('int_problem_scores_by_draw') }}

),

base_ranks as (

    select city, problem_id, priority_rank
    from draws
    where draw_set = 'base'

),

sensitivity as (

    select
        draws.city,
        draws.problem_id,
        min(draws.priority_rank) filter (where draw_set = 'joint') as min_rank,
        max(draws.priority_rank) filter (where draw_set = 'joint') as max_rank,
        list_sort(list(draws.priority_rank) filter (where draw_set = 'joint')) as joint_ranks,
        avg(case when draws.priority_rank = 1 then 1.0 else 0.0 end) filter (where draw_set = 'joint') as p_first,
        avg(case when draws.priority_rank = base_ranks.priority_rank then 1.0 else 0.0 end)
            filter (where draw_set = 'joint') as rank_stability,
        avg(case when draws.priority_rank = base_ranks.priority_rank then 1.0 else 0.0 end)
            filter (where draw_set = 'weights') as rank_stability_weights,
        avg(case when draws.priority_rank = base_ranks.priority_rank then 1.0 else 0.0 end)
            filter (where draw_set = 'data') as rank_stability_data,
        count(*) filter (where draw_set = 'joint') as n_draws
    from draws
    inner join base_ranks using (city, problem_id)
    where draws.draw_set <> 'base'
    group by all

),

outcome_indicators as (

    -- what a problem without data would need, for its explanation
    select city, problem_id, string_agg(indicator_id, ', ' order by indicator_id) as indicators
    from {{ ref('stg_registry__outcomes') }}
    group by all

),

intervals as (

    -- the central rank_interval share of the joint draws' ranks (order statistics)
    select
        *,
        joint_ranks[greatest(1, cast(floor(n_draws * (1 - coverage) / 2) as integer) + 1)] as rank_interval_low,
        joint_ranks[least(n_draws, cast(ceil(n_draws * (1 + coverage) / 2) as integer))] as rank_interval_high
    from sensitivity
    cross join (select {{ scoring_parameter('sensitivity', 'rank_interval') }} as coverage)

),

thresholds as (

    select
        {{ scoring_parameter('quadrant', 'importance_threshold') }} as importance_threshold,
        {{ scoring_parameter('quadrant', 'tractability_threshold') }} as tractability_threshold

),

classified as (

    select
        scores.*,
        base_ranks.priority_rank,
        count(*) over (partition by scores.city) as n_problems,
        scores.importance >= thresholds.importance_threshold as is_important,
        scores.tractability >= thresholds.tractability_threshold as is_tractable
    from scores
    inner join base_ranks using (city, problem_id)
    cross join thresholds

)

select
    cast(classified.city as varchar) as city,
    cast(classified.priority_rank as integer) as priority_rank,
    cast(classified.n_problems as integer) as n_problems,
    cast(classified.problem_id as varchar) as problem_id,
    cast(classified.problem_name as varchar) as problem_name,
    cast(classified.priority_score as double) as priority_score,
    cast(classified.importance as double) as importance,
    cast(classified.tractability as double) as tractability,
    cast(classified.is_important as boolean) as is_important,
    cast(classified.is_tractable as boolean) as is_tractable,
    cast(case
        when classified.importance is null or classified.tractability is null then 'no_data'
        when classified.is_important and classified.is_tractable then 'act_now'
        when classified.is_important then 'convene_and_align'
        when classified.is_tractable then 'quick_win'
        else 'monitor'
    end as varchar) as quadrant,
    cast(case
        when classified.importance is null
            then 'No outcome data for this city: none of its outcome indicators ('
                || coalesce(outcome_indicators.indicators, 'none listed')
                || ') has values here, so it ranks after every problem with data. Load a '
                || 'dataset that feeds them (docs/cities.md).'
        when classified.tractability is null
            then 'No tractability data for this city: its factors are missing from the registry.'
        when classified.is_important and classified.is_tractable
            then 'Act now: a large problem with levers the city holds and interventions that work.'
        when classified.is_important
            then 'Convene and align others: a large problem whose levers lie mostly with other sectors and governments.'
        when classified.is_tractable
            then 'Quick win: a smaller problem the city can move with its own levers.'
        else 'Monitor: keep watching the indicators and early warnings.'
    end as varchar) as strategy,
    cast(sensitivity.min_rank as integer) as min_rank,
    cast(sensitivity.max_rank as integer) as max_rank,
    cast(sensitivity.rank_interval_low as integer) as rank_interval_low,
    cast(sensitivity.rank_interval_high as integer) as rank_interval_high,
    cast(coalesce(sensitivity.p_first, 0) as double) as p_first,
    cast(coalesce(sensitivity.rank_stability, 0) as double) as rank_stability,
    cast(sensitivity.rank_stability_weights as double) as rank_stability_weights,
    cast(sensitivity.rank_stability_data as double) as rank_stability_data,
    cast(coalesce(sensitivity.p_first, 0) as double) as share_rank_1,
    cast(coalesce(sensitivity.rank_stability, 0) as double) as share_at_base_rank,
    cast(sensitivity.n_draws as integer) as n_draws
from classified
left join intervals as sensitivity using (city, problem_id)
left join outcome_indicators using (city, problem_id)
