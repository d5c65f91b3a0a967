-- CDC EARS C1 / C2 / C3 statistics for every period of every count series
-- (int_early_warning_series), as in R surveillance::earsC and Hutwagner et al. (2003):
--   C1: baseline = the B periods t-B..t-1;  C2: t-B-g..t-1-g (guard band g = 2) so a rising
--   outbreak does not contaminate its own baseline. mean and sample sd of the baseline,
--   sigma = max(sd, min_sigma), statistic = worse_sign * (y - mean) / sigma
--   (worse_sign = -1 watches falls, e.g. permits drying up).
--   C3 = sum over t, t-1, t-2 of max(0, C2 - 1) (the CDC definition): a sustained moderate
--   rise adds up even when no single period stands out.
-- Null statistics where the baseline is incomplete (C2 needs B + 2 earlier periods, C3 two
-- more). The published thresholds fire far above their nominal rate on crime counts
-- (ANALYTICS.md), so levels are not set here: int_early_warning_tests gives each statistic a
-- level only when the chosen count test confirms it at that level's rate.
-- Settings per grain: vars ew_<grain>_baseline / _guard / _min_sigma.
{%- set grains = analytics_setting('ew_count_grains') %}
with series as (

    select * from {{ ref('int_early_warning_series') }}

),

{% for grain in grains %}
{%- set b = analytics_setting('ew_' ~ grain ~ '_baseline') %}
{%- set g = analytics_setting('ew_' ~ grain ~ '_guard') %}
windows_{{ grain }} as (

    select
        *,
        {{ b }} as baseline_periods,
        {{ g }} as guard_periods,
        cast({{ analytics_setting('ew_' ~ grain ~ '_min_sigma') }} as double) as min_sigma,
        count(observed) over c1_baseline as c1_n,
        avg(observed) over c1_baseline as c1_mean_raw,
        stddev_samp(observed) over c1_baseline as c1_sd,
        count(observed) over c2_baseline as c2_n,
        avg(observed) over c2_baseline as c2_mean_raw,
        stddev_samp(observed) over c2_baseline as c2_sd
    from series
    where series_grain = '{{ grain }}'
    window
        c1_baseline as (
            partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value
            order by period_start
            rows between {{ b }} preceding and 1 preceding
        ),
        c2_baseline as (
            partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value
            order by period_start
            rows between {{ b + g }} preceding and {{ g + 1 }} preceding
        )

),
{% endfor %}

windows as (

    {% for grain in grains %}
    select * from windows_{{ grain }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

baselines as (

    -- a statistic needs a complete baseline
    select
        * exclude (c1_mean_raw, c2_mean_raw),
        case when c1_n = baseline_periods then c1_mean_raw end as c1_mean,
        case when c1_n = baseline_periods then greatest(c1_sd, min_sigma) end as c1_sigma,
        case when c2_n = baseline_periods then c2_mean_raw end as c2_mean,
        case when c2_n = baseline_periods then greatest(c2_sd, min_sigma) end as c2_sigma
    from windows

),

statistics as (

    select
        *,
        {{ standardized_excess('observed', 'c1_mean', 'c1_sigma', 'worse_sign') }} as c1_stat,
        {{ standardized_excess('observed', 'c2_mean', 'c2_sigma', 'worse_sign') }} as c2_stat
    from baselines

)

select
    *,
    -- null unless C2 exists at t, t-1 and t-2 (greatest() would skip a null lag)
    case
        when lag(c2_stat, 1) over series_order is not null
            and lag(c2_stat, 2) over series_order is not null
            then greatest(0, c2_stat - 1)
                + greatest(0, lag(c2_stat, 1) over series_order - 1)
                + greatest(0, lag(c2_stat, 2) over series_order - 1)
    end as c3_stat
from statistics
window series_order as (
    partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value, series_grain
    order by period_start
)
