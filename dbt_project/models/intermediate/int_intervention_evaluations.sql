-- One row per local intervention and outcome indicator it aims at: which design evaluates
-- it, at which grain, and the before and after windows (docs/innovation.md).
--
-- Design: a citywide effort (area_type = city) gets an interrupted time series of the city's
-- series; an effort with listed areas gets a difference in differences of its areas against
-- comparison areas of the same type; an area effort whose areas the registry does not list
-- gets none (it stays in the ledger, unevaluated).
-- Grain: monthly when the warehouse has the indicator by month for that area type, else
-- yearly (no season then).
-- Windows (settings in macros/interventions.sql): before = the `pre` periods up to the
-- start; after = from the start, or after the start year when only the year is known (the
-- month is unknown, so that year is left out), plus the ramp-up months, for up to `post`
-- periods, and no later than the end of the effort or of the data.
{%- set pre_months = intervention_setting('intervention_pre_months') %}
{%- set post_months = intervention_setting('intervention_post_months') %}
{%- set pre_years = intervention_setting('intervention_pre_years') %}
{%- set post_years = intervention_setting('intervention_post_years') %}
with interventions as (

    select * from {{ ref('stg_registry__local_interventions') }}

),

outcomes as (

    select * from {{ ref('stg_registry__intervention_outcomes') }}

),

treated_areas as (

    select city, local_intervention_id, count(*) as n_listed_areas
    from {{ ref('stg_registry__intervention_areas') }}
    where area_role = 'treated'
    group by all

),

series_grains as (

    -- what the warehouse holds per city, area type and indicator (totals, not breakdowns)
    select
        city, area_type, indicator_id, period_grain,
        min(period_start) as first_period,
        max(period_start) as last_period,
        count(numerator) > 0 as has_counts
    from {{ ref('int_intervention_outcome_values') }}
    where breakdown_type = 'all'
    group by all

),

designs as (

    select
        interventions.city,
        interventions.local_intervention_id,
        interventions.problem_id,
        interventions.intervention_id,
        interventions.local_intervention_name,
        outcomes.indicator_id,
        interventions.area_type,
        interventions.start_month,
        interventions.start_precision,
        interventions.end_month,
        interventions.ramp_up_months,
        coalesce(treated_areas.n_listed_areas, 0) as n_listed_areas,
        case
            when interventions.area_type = 'city' then 'interrupted_time_series'
            when treated_areas.n_listed_areas > 0 then 'difference_in_differences'
            else 'none'
        end as design,
        -- the series the design reads: the city's own for a time series, else the areas'
        case when interventions.area_type = 'city' then 'city' else interventions.area_type end
            as series_area_type
    from interventions
    inner join outcomes using (city, local_intervention_id)
    left join treated_areas using (city, local_intervention_id)

),

with_grain as (

    select
        designs.*,
        coalesce(monthly.period_grain, yearly.period_grain) as period_grain,
        coalesce(monthly.first_period, yearly.first_period) as data_first_period,
        coalesce(monthly.last_period, yearly.last_period) as data_last_period,
        coalesce(monthly.has_counts, yearly.has_counts) as has_counts
    from designs
    left join series_grains as monthly
        on monthly.city = designs.city
        and monthly.area_type = designs.series_area_type
        and monthly.indicator_id = designs.indicator_id
        and monthly.period_grain = 'month'
    left join series_grains as yearly
        on yearly.city = designs.city
        and yearly.area_type = designs.series_area_type
        and yearly.indicator_id = designs.indicator_id
        and yearly.period_grain = 'year'

),

windows as (

    select
        *,
        -- first month of the after window (month grain)
        cast(
            start_month
            + to_months(case when start_precision = 'year' then 12 else 0 end + ramp_up_months)
            as date
        ) as post_first_month,
        -- first full year after the start (year grain): the start year counts only when the
        -- effort started in January and its month is known
        year(start_month)
            + case when start_precision = 'month' and month(start_month) = 1 then 0 else 1 end
            + cast(ceil(ramp_up_months / 12.0) as integer) as post_first_year
    from with_grain

)

select
    city,
    local_intervention_id,
    problem_id,
    intervention_id,
    local_intervention_name,
    indicator_id,
    design,
    series_area_type,
    n_listed_areas,
    period_grain,
    has_counts,
    data_first_period,
    data_last_period,
    start_month,
    start_precision,
    end_month,
    ramp_up_months,
    case period_grain
        when 'month' then cast(start_month - to_months({{ pre_months }}) as date)
        when 'year' then make_date(year(start_month) - {{ pre_years }}, 1, 1)
    end as pre_first_period,
    case period_grain
        when 'month' then cast(start_month - to_months(1) as date)
        when 'year' then make_date(year(start_month) - 1, 1, 1)
    end as pre_last_period,
    case period_grain
        when 'month' then post_first_month
        when 'year' then make_date(post_first_year, 1, 1)
    end as post_first_period,
    -- the end of the after window: `post` periods, the effort's end, the data's end
    case period_grain
        when 'month' then least(
            cast(post_first_month + to_months({{ post_months }} - 1) as date),
            coalesce(date_trunc('month', end_month), data_last_period),
            data_last_period
        )
        when 'year' then least(
            make_date(post_first_year + {{ post_years }} - 1, 1, 1),
            coalesce(make_date(year(end_month), 1, 1), data_last_period),
            data_last_period
        )
    end as post_last_period
from windows
