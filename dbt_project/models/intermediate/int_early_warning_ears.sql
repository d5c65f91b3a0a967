-- CDC EARS C1 / C2 / C3 statistics for every period of every count series
-- (int_early_warning_series), as in R surveillance::earsC:
--   C1: baseline = the B periods t-B..t-1;  C2: t-B-g..t-1-g (guard band g = 2) so a rising
--   outbreak does not contaminate its own baseline. mean and sample sd of the baseline,
--   sigma = max(sd, min_sigma), statistic = worse_sign * (y - mean) / sigma
--   (worse_sign = -1 watches falls, e.g. permits drying up).
--   C3 = C2_t + max(0, C2_{t-1} - 1) + max(0, C2_{t-2} - 1) (published CDC definition).
-- Null statistics where the baseline is incomplete (C2 needs B + 2 earlier periods).
-- Levels (watch / warning / alert) need: statistic >= the level's z (ew_level_z), a
-- quasi-Poisson confirmation and enough events (y >= min_count for a rise, a baseline
-- mean >= min_count for a fall). The confirmation (ew_poisson_confirm): the one-sided
-- Poisson tail deviate of y against the baseline mean, divided by sqrt(phi) where the
-- dispersion phi = baseline variance / baseline mean (floored at 1) is estimated from the
-- same baseline window, must reach the level's one-sided tail of Student's t with B - 1
-- df (the df of the estimated dispersion): e.g. 3.42 instead of 3.09 for the alert level
-- with B = 28. ew_poisson_dispersion = 'poisson' restores the plain Poisson test at the
-- normal thresholds. Why these additions: ANALYTICS.md (measured false-alarm rate).
-- Settings per grain: vars ew_<grain>_baseline / _guard / _min_sigma / _min_count.
{%- set grains = analytics_setting('ew_count_grains') %}
{%- set levels = analytics_setting('ew_level_z') %}
{%- set confirm = analytics_setting('ew_poisson_confirm') %}
{%- set quasi = analytics_setting('ew_poisson_dispersion') %}
{%- if quasi not in ['quasi', 'poisson'] %}
    {{ exceptions.raise_compiler_error("ew_poisson_dispersion must be 'quasi' or 'poisson'") }}
{%- endif %}
{%- set quasi = quasi == 'quasi' %}
{%- set confirm_thresholds = {} %}
{%- for level in ['watch', 'warning', 'alert'] %}
    {%- do confirm_thresholds.update({level: 'confirm_' ~ level ~ '_z'}) %}
{%- endfor %}
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
        {{ analytics_setting('ew_' ~ grain ~ '_min_count') }} as min_count,
        {%- for level in ['watch', 'warning', 'alert'] %}
        cast({{ t_quantile_from_z(levels[level], b - 1 if quasi else none) }} as double) as confirm_{{ level }}_z,
        {%- endfor %}
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
        case when c2_n = baseline_periods then greatest(c2_sd, min_sigma) end as c2_sigma,
        case when c1_n = baseline_periods then
            {{ dispersion('c1_mean_raw', 'c1_sd * c1_sd') if quasi else '1.0' }} end as c1_dispersion,
        case when c2_n = baseline_periods then
            {{ dispersion('c2_mean_raw', 'c2_sd * c2_sd') if quasi else '1.0' }} end as c2_dispersion
    from windows

),

statistics as (

    select
        *,
        {{ standardized_excess('observed', 'c1_mean', 'c1_sigma', 'worse_sign') }} as c1_stat,
        {{ standardized_excess('observed', 'c2_mean', 'c2_sigma', 'worse_sign') }} as c2_stat,
        {{ poisson_tail_z('observed', 'c1_mean', 'worse_sign') }} as c1_poisson_z,
        {{ poisson_tail_z('observed', 'c2_mean', 'worse_sign') }} as c2_poisson_z,
        {{ poisson_tail_z('observed', 'c1_mean', 'worse_sign') }} / sqrt(c1_dispersion) as c1_confirm_z,
        {{ poisson_tail_z('observed', 'c2_mean', 'worse_sign') }} / sqrt(c2_dispersion) as c2_confirm_z
    from baselines

),

with_c3 as (

    select
        *,
        -- null unless C2 exists at t, t-1 and t-2 (greatest() would skip a null lag)
        case
            when lag(c2_stat, 1) over series_order is not null
                and lag(c2_stat, 2) over series_order is not null
                then c2_stat
                    + greatest(0, lag(c2_stat, 1) over series_order - 1)
                    + greatest(0, lag(c2_stat, 2) over series_order - 1)
        end as c3_stat_raw
    from statistics
    window series_order as (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value, series_grain
        order by period_start
    )

)

select
    * exclude (c3_stat_raw),
    -- -inf + inf (sigma = 0 in both directions, possible only with min_sigma = 0) is no statistic
    case when isnan(c3_stat_raw) then null else c3_stat_raw end as c3_stat,
    {{ alert_level('c1_stat', levels,
        gate="case when worse_sign > 0 then observed >= min_count else c1_mean >= min_count end",
        confirm=('c1_confirm_z' if confirm else none), confirm_thresholds=confirm_thresholds) }} as c1_level,
    {{ alert_level('c2_stat', levels,
        gate="case when worse_sign > 0 then observed >= min_count else c2_mean >= min_count end",
        confirm=('c2_confirm_z' if confirm else none), confirm_thresholds=confirm_thresholds) }} as c2_level,
    {{ alert_level('case when isnan(c3_stat_raw) then null else c3_stat_raw end', levels,
        gate="case when worse_sign > 0 then observed >= min_count else c2_mean >= min_count end",
        confirm=('c2_confirm_z' if confirm else none), confirm_thresholds=confirm_thresholds) }} as c3_level
from with_c3
