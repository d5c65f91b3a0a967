-- Can each evaluation be run? Counts the periods and events its windows hold and gives the
-- first reason it cannot (then the verdict is "too early / not enough data", never a number):
--   areas_not_listed     an area effort whose areas the registry does not list
--   no_series            the warehouse has no series of the indicator for that area type
--   no_counts            the indicator is not a count of events (the designs model counts)
--   short_before         fewer periods before the start than the minimum
--   short_after          fewer periods after the start than the minimum (too early)
--   few_comparison_areas fewer comparison areas with data than the minimum
--   few_events           fewer events than the minimum in the treated areas before or after
{%- set allowed_kinds = intervention_setting('intervention_value_kinds') %}
with evaluations as (

    select * from {{ ref('int_intervention_evaluations') }}

),

statistics as (

    select indicator_id, value_kind from {{ ref('indicator_statistics') }}

),

series as (

    select * from {{ ref('int_intervention_series') }}
    where phase in ('pre', 'post')

),

-- periods where the design's groups are all present: the city, or treated and comparison
complete_periods as (

    select city, local_intervention_id, indicator_id, period_start, any_value(phase) as phase,
        sum(event_count) filter (where series_group in ('treated', 'city')) as focal_events,
        sum(event_count) filter (where series_group = 'comparison') as comparison_events,
        max(n_areas) filter (where series_group = 'comparison') as n_comparison_areas
    from series
    group by all
    having count(distinct series_group) = case when any_value(design) = 'interrupted_time_series' then 1 else 2 end

),

counted as (

    select
        city, local_intervention_id, indicator_id,
        count(*) filter (where phase = 'pre') as n_pre_periods,
        count(*) filter (where phase = 'post') as n_post_periods,
        coalesce(sum(focal_events) filter (where phase = 'pre'), 0) as focal_events_pre,
        coalesce(sum(focal_events) filter (where phase = 'post'), 0) as focal_events_post,
        sum(comparison_events) filter (where phase = 'pre') as comparison_events_pre,
        sum(comparison_events) filter (where phase = 'post') as comparison_events_post,
        max(n_comparison_areas) as n_comparison_areas
    from complete_periods
    group by all

),

joined as (

    select
        evaluations.*,
        statistics.value_kind,
        coalesce(counted.n_pre_periods, 0) as n_pre_periods,
        coalesce(counted.n_post_periods, 0) as n_post_periods,
        coalesce(counted.focal_events_pre, 0) as focal_events_pre,
        coalesce(counted.focal_events_post, 0) as focal_events_post,
        counted.comparison_events_pre,
        counted.comparison_events_post,
        coalesce(counted.n_comparison_areas, 0) as n_comparison_areas,
        case evaluations.period_grain
            when 'month' then {{ intervention_setting('intervention_min_pre_months') }}
            else {{ intervention_setting('intervention_min_pre_years') }}
        end as min_pre_periods,
        case evaluations.period_grain
            when 'month' then {{ intervention_setting('intervention_min_post_months') }}
            else {{ intervention_setting('intervention_min_post_years') }}
        end as min_post_periods
    from evaluations
    left join statistics using (indicator_id)
    left join counted using (city, local_intervention_id, indicator_id)

)

select
    *,
    case
        when design = 'none' then 'areas_not_listed'
        when period_grain is null then 'no_series'
        when coalesce(value_kind, '') not in (
            {%- for kind in allowed_kinds %}'{{ kind }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        ) or not has_counts then 'no_counts'
        when n_pre_periods < min_pre_periods then 'short_before'
        when n_post_periods < min_post_periods then 'short_after'
        when design = 'difference_in_differences'
            and n_comparison_areas < {{ intervention_setting('intervention_min_comparison_areas') }}
            then 'few_comparison_areas'
        when least(focal_events_pre, focal_events_post) < {{ intervention_setting('intervention_min_events') }}
            then 'few_events'
    end as not_ready_reason,
    not_ready_reason is null as is_ready
from joined
