-- Who is innovating: local interventions grouped by the lead actor's sector and the kind of
-- idea (tested elsewhere, home-grown, reclaimed, new), with where the leadership sits and
-- what the city's data say about them so far.
select
    city,
    lead_sector,
    kind,
    count(*) as n_interventions,
    count(*) filter (where status in ('active', 'pilot')) as n_running,
    count(*) filter (where leadership = 'top') as n_led_from_the_top,
    count(*) filter (where leadership = 'middle') as n_led_from_the_middle,
    count(*) filter (where headline_verdict <> 'too early / not enough data') as n_evaluated,
    count(*) filter (where headline_verdict = 'improved') as n_improved,
    count(*) filter (where headline_verdict = 'worsened') as n_worsened,
    count(*) filter (where headline_verdict = 'no change detected') as n_no_change,
    string_agg(intervention_name, '; ' order by start_month) as interventions,
    string_agg(distinct led_by, '; ') as lead_actors,
    count(distinct problem_id) as n_problems
from {{ ref('fct_innovation_portfolio') }}
group by all
