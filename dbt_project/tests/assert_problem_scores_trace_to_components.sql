-- Every importance and tractability score equals the sum of the contributions of its
-- components in fct_problem_score_components (scores trace to their inputs).
with contributions as (

    select city, problem_id, score_name, sum(contribution) as total
    from {{ ref('fct_problem_score_components') }}
    group by all

),

scores as (

    unpivot (select city, problem_id, importance, tractability from {{ ref('fct_problem_scores') }})
    on importance, tractability
    into name score_name value score

)

select scores.*, contributions.total
from scores
full join contributions using (city, problem_id, score_name)
where abs(coalesce(scores.score, -1) - coalesce(contributions.total, -1)) > 1e-9
