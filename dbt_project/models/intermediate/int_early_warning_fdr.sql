-- False-discovery control across the areas of a city: the chosen test of every series, and
-- for each city x grain x period the Benjamini-Hochberg adjusted p-value (q-value) over all
-- of that period's tests in the city (every area, area type and indicator):
--     q_(i) = min over j >= i of (m p_(j) / j),  p sorted ascending, m tests in the family.
-- A flag is reported at the highest level whose per-test rate (ew_level_alpha) AND
-- false-discovery target (ew_fdr_q: watch 10 %, warning 5 %, alert 1 %) it meets: unusual
-- for its own series, and among a set of flags of which at most that share are expected to
-- be false. BH controls the FDR for independent or positively dependent one-sided tests
-- (Benjamini and Yekutieli 2001), which areas of one city sharing weather and calendar are.
{%- set alpha = analytics_setting('ew_level_alpha') %}
{%- set q = analytics_setting('ew_fdr_q') %}
with tests as (

    select * from {{ ref('int_early_warning_tests') }}
    where is_chosen and p_value is not null

),

ranked as (

    select
        *,
        count(*) over family as family_tests,
        row_number() over (family order by p_value, area_type, area_id, indicator_id) as p_rank
    from tests
    window family as (partition by city, series_grain, period_start)

),

adjusted as (

    select
        *,
        least(1.0, min(family_tests * p_value / p_rank) over (
            partition by city, series_grain, period_start
            order by p_rank desc
            rows between unbounded preceding and current row
        )) as q_value
    from ranked

)

select
    * exclude (level),
    level as test_level,
    case
        {% for level in ['alert', 'warning', 'watch'] %}
        when p_value <= {{ alpha[level] }} and q_value <= {{ q[level] }} then '{{ level }}'
        {% endfor %}
    end as level
from adjusted
