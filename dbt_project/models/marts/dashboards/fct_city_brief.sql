-- The mayor's brief: per city, the 3 to 5 things to act on, in plain words, each with how
-- sure we are, the department that owns it, the other actors to call (from the backward
-- map) and the city money already in it.
--
-- Picked in this order, one item per indicator:
--   1. warnings and alerts at the end of the data (fct_alert_board): current before past,
--      citywide before a single area, alert before warning, largest excess; at most 3;
--   2. scorecard metrics off track at their latest period (fct_indicator_scorecard),
--      lowest score first; at most 2;
--   3. if fewer than 3 so far, the top-ranked problems with data not yet covered (a city
--      with few datasets may have fewer than 3 items in all: the page says so).
-- An item about an indicator belongs to the problem whose outcome it is (the largest outcome
-- weight, then the better rank). Owner: the government actor on the problem's factor where the
-- city's authority is strongest (direct before shared), the largest causal share first, an actor
-- engaged locally before a generic one. Others to call: up to 3 actors of other sectors, the
-- engaged ones first. Money: the budget lines of the backward map.
{%- set max_items = 5 %}
with board as (

    select * from {{ ref('fct_alert_board') }}
    where level in ('alert', 'warning')

),

scorecard as (

    select * from {{ ref('fct_indicator_scorecard') }}
    where is_latest and band = 'off_track'

),

ranking as (

    select * from {{ ref('fct_problem_ranking') }}

),

outcome_problem as (

    select outcomes.city, outcomes.indicator_id, outcomes.problem_id
    from {{ ref('stg_registry__outcomes') }} as outcomes
    left join ranking using (city, problem_id)
    qualify row_number() over (
        partition by outcomes.city, outcomes.indicator_id
        order by outcomes.outcome_weight desc, ranking.priority_rank asc nulls last, outcomes.problem_id asc
    ) = 1

),

-- the strongest flag of each indicator
strongest_warnings as (

    select *
    from board
    qualify row_number() over (
        partition by city, indicator_id
        order by is_current desc, area_type = 'city' desc, level_order,
            abs(excess) desc nulls last, alert_id
    ) = 1

),

warning_items as (

    select
        city,
        1 as kind_order,
        'early_warning' as item_kind,
        indicator_id,
        area_type,
        area_id,
        area_name,
        latest_flagged_period as period_start,
        period_label,
        is_current,
        headline,
        level_label || ', ' || how_sure || '. How it was found: ' || lower(method_name) || '.'
            as how_sure,
        row_number() over (
            partition by city
            order by is_current desc, area_type = 'city' desc, level_order,
                abs(excess) desc nulls last, alert_id
        ) as kind_rank
    from strongest_warnings

),

scorecard_items as (

    select
        scorecard.city,
        2 as kind_order,
        'off_track' as item_kind,
        scorecard.indicator_id,
        scorecard.area_type,
        scorecard.area_id,
        scorecard.area_name,
        scorecard.period_start,
        scorecard.period_label,
        false as is_current,
        scorecard.indicator_name || ' in ' || scorecard.area_name || ' is off track: '
            || printf('%,.1f', scorecard.value) || ' ' || scorecard.unit_label || ' in '
            || scorecard.period_label || ', against ' || scorecard.target_kind_label || ' of '
            || printf('%,.1f', scorecard.target_value) || ' (score '
            || printf('%.2f', scorecard.score) || ', 1 = on target).' as headline,
        case
            when scorecard.value_lower is not null
                then 'Beyond chance: the 95 % range of the value (' || printf('%,.1f', scorecard.value_lower)
                    || ' to ' || printf('%,.1f', scorecard.value_upper) || ') leaves out the target.'
            else 'The published value; no margin of error is available for it.'
        end as how_sure,
        row_number() over (partition by scorecard.city order by scorecard.score, scorecard.indicator_id)
            as kind_rank
    from scorecard
    anti join (select city, indicator_id from warning_items where kind_rank <= 3) as picked
        using (city, indicator_id)

),

signal_items as (

    select * from warning_items where kind_rank <= 3
    union all
    select * from scorecard_items where kind_rank <= 2

),

with_problem as (

    select signal_items.*, outcome_problem.problem_id
    from signal_items
    left join outcome_problem using (city, indicator_id)

),

priority_items as (

    select
        ranking.city,
        3 as kind_order,
        'priority' as item_kind,
        cast(null as varchar) as indicator_id,
        cast(null as varchar) as area_type,
        cast(null as varchar) as area_id,
        cast(null as varchar) as area_name,
        cast(null as date) as period_start,
        cast(null as varchar) as period_label,
        false as is_current,
        ranking.problem_name || ' ranks ' || ranking.priority_rank || ' of ' || ranking.n_problems
            || ' among the city''s problems: ' || lower(ranking.strategy) as headline,
        'Ranked ' || case when ranking.min_rank = ranking.max_rank then cast(ranking.min_rank as varchar)
            else ranking.min_rank || ' to ' || ranking.max_rank end
            || ' when the scoring weights move; at this rank in '
            || cast(round(100 * ranking.share_at_base_rank) as integer) || ' % of '
            || ranking.n_draws || ' draws.' as how_sure,
        row_number() over (partition by ranking.city order by ranking.priority_rank) as kind_rank,
        ranking.problem_id
    from ranking
    where ranking.quadrant <> 'no_data'
        and not exists (
            select 1 from with_problem
            where with_problem.city = ranking.city and with_problem.problem_id = ranking.problem_id
        )

),

signal_counts as (

    select city, count(*) as n_signals from with_problem group by city

),

items as (

    select * from with_problem
    union all
    select priority_items.*
    from priority_items
    left join signal_counts using (city)
    where priority_items.kind_rank <= 3 - coalesce(signal_counts.n_signals, 0)

),

factors as (

    select * from {{ ref('stg_registry__factors') }}

),

actors as (

    select actors.*, factors.causal_weight, factors.authority
    from {{ ref('stg_registry__actors') }} as actors
    inner join factors using (city, problem_id, factor_id)

),

owners as (

    select city, problem_id, actor_name as owner, role as owner_role
    from actors
    where sector = 'government'
    qualify row_number() over (
        partition by city, problem_id
        order by case authority when 'direct' then 1 when 'shared' then 2 else 3 end asc,
            causal_weight desc, is_engaged desc, actor_name asc
    ) = 1

),

others as (

    select city, problem_id, string_agg(actor_name || ' (' || replace(sector, '_', ' / ') || ')', '; '
        order by actor_order) as also_call
    from (
        select
            city, problem_id, actor_name, sector,
            row_number() over (
                partition by city, problem_id
                order by max(cast(is_engaged as int)) desc, max(causal_weight) desc, actor_name
            ) as actor_order
        from actors
        where sector <> 'government'
        group by city, problem_id, actor_name, sector
    ) as ranked_actors
    where actor_order <= 3
    group by city, problem_id

),

money as (

    select city, problem_id, sum(budget_usd) as money_usd, max(budget_fiscal_year) as money_fiscal_year
    from {{ ref('fct_backward_map') }}
    group by city, problem_id

)

select
    items.city,
    cast(row_number() over (partition by items.city order by items.kind_order, items.kind_rank) as integer)
        as item_rank,
    items.item_kind,
    items.headline,
    items.how_sure,
    items.indicator_id,
    items.area_type,
    items.area_id,
    items.area_name,
    items.period_start,
    items.period_label,
    items.is_current,
    items.problem_id,
    ranking.problem_name,
    ranking.priority_rank,
    owners.owner,
    owners.owner_role,
    others.also_call,
    money.money_usd,
    money.money_fiscal_year,
    case
        when money.money_usd is null or money.money_usd = 0 then 'No city budget line is tied to it in the data.'
        else case
            when money.money_usd >= 1e9 then printf('$%.1f billion', money.money_usd / 1e9)
            when money.money_usd >= 1e6 then printf('$%.1f million', money.money_usd / 1e6)
            else printf('$%,.0f', money.money_usd)
        end || ' in the city''s FY' || money.money_fiscal_year || ' budget lines tied to it.'
    end as money_label,
    '/problems/' || items.problem_id || '/?city=' || items.city as problem_link
from items
left join ranking using (city, problem_id)
left join owners using (city, problem_id)
left join others using (city, problem_id)
left join money using (city, problem_id)
qualify item_rank <= {{ max_items }}
