-- Complementarity: who works on each causal factor, and where efforts are missing or
-- overlap. One row per city x problem x factor:
--   unaddressed   no engaged actor and no city budget line: nobody is on it
--   city_only     only the city's own budget (no engaged actor named)
--   single_actor  one engaged actor
--   single_sector several engaged actors, all from one sector
--   overlap       engaged actors from two or more sectors: coordinate them (reinforce or compete)
-- shared_with_problems lists the city's other problems naming the same factor id: one
-- effort there serves several problems.
with factors as (

    select * from {{ ref('int_problem_factors') }}

),

shared as (

    select
        own.city,
        own.problem_id,
        own.factor_id,
        string_agg(other.problem_id, ', ' order by other.problem_id) as shared_with_problems,
        count(other.problem_id) as n_shared_problems
    from factors as own
    inner join factors as other
        on other.city = own.city
        and other.factor_id = own.factor_id
        and other.problem_id <> own.problem_id
    group by all

)

select
    cast(factors.city as varchar) as city,
    cast(factors.problem_id as varchar) as problem_id,
    cast(factors.factor_id as varchar) as factor_id,
    cast(factors.factor_name as varchar) as factor_name,
    cast(factors.causal_share as double) as causal_share,
    cast(factors.authority as varchar) as authority,
    cast(factors.n_actors as integer) as n_actors,
    cast(factors.n_engaged_actors as integer) as n_engaged_actors,
    cast(factors.n_engaged_sectors as integer) as n_engaged_sectors,
    cast(factors.n_budget_lines as integer) as n_budget_lines,
    cast(factors.budget_usd as double) as budget_usd,
    cast(factors.n_interventions as integer) as n_interventions,
    cast(factors.n_tried_locally as integer) as n_tried_locally,
    cast(case
        when factors.n_engaged_actors = 0 and factors.budget_usd = 0 then 'unaddressed'
        when factors.n_engaged_actors = 0 then 'city_only'
        when factors.n_engaged_actors = 1 then 'single_actor'
        when factors.n_engaged_sectors = 1 then 'single_sector'
        else 'overlap'
    end as varchar) as coverage_status,
    cast(shared.shared_with_problems as varchar) as shared_with_problems,
    cast(coalesce(shared.n_shared_problems, 0) as integer) as n_shared_problems
from factors
left join shared using (city, problem_id, factor_id)
