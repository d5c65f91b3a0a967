-- Every detector's test of every period of every watched series, in long form (one row per
-- series x period x method), with its p-value, per-test level and whether it is the method
-- chosen for that series and period (is_chosen). Methods:
--   count_scan     conditional window scan on counts (int_early_warning_counts)
--   nb_cusum       negative-binomial CUSUM for a doubling (int_early_warning_counts)
--   ears_c1/c2/c3  CDC EARS statistics (int_early_warning_ears)
--   seasonal_glm   Farrington-style seasonal baseline, months (int_early_warning_seasonal)
--   count_change | binomial_change | historical_change  annual changes (int_early_warning_annual)
-- Levels: a p-value at or below the level's one-sided rate ew_level_alpha (watch 2.5 %,
-- warning 0.5 %, alert 0.1 %). EARS and CUSUM statistics have no calibrated null of their
-- own on real counts, so they reach a level only when their own threshold (EARS: the normal
-- quantile of the level's rate, ew_level_z; CUSUM: -ln of the rate) is passed AND the count
-- scan confirms at that level; their false-alarm rate is then at most the scan's.
-- Chosen method (by the data available): day and week series -> count_scan; month series
-- -> seasonal_glm once three years of history exist, count_scan before; year -> the annual
-- change test. Only the chosen method's flags go on to false-discovery control.
{%- set alpha = analytics_setting('ew_level_alpha') %}
{%- set z = analytics_setting('ew_level_z') %}
{%- set key = 'city, area_type, area_id, indicator_id, breakdown_type, breakdown_value, series_grain, period_start' %}
with series as (

    select * from {{ ref('int_early_warning_series') }}

),

counts as (

    select * from {{ ref('int_early_warning_counts') }}

),

ears as (

    select {{ key }}, c1_stat, c1_mean, c2_stat, c2_mean, c3_stat
    from {{ ref('int_early_warning_ears') }}

),

seasonal as (

    select * from {{ ref('int_early_warning_seasonal') }}

),

count_tests as (

    select
        {%- for column in key.split(', ') %}
        series.{{ column }},
        {%- endfor %}
        series.observed as period_observed,
        counts.scan_p,
        counts.scan_z,
        cast(counts.scan_window as integer) as scan_window,
        counts.scan_observed,
        counts.scan_expected,
        counts.cusum_statistic,
        counts.cusum_expected,
        ears.c1_stat, ears.c1_mean, ears.c2_stat, ears.c2_mean, ears.c3_stat,
        seasonal.glm_p, seasonal.glm_z, seasonal.glm_expected
    from series
    inner join counts using ({{ key }})
    left join ears using ({{ key }})
    left join seasonal using ({{ key }})

),

long as (

    select {{ key }}, 'count_scan' as method, scan_p as p_value, scan_z as statistic,
        scan_observed as observed, scan_expected as expected, scan_window as window_periods
    from count_tests where scan_p is not null

    union all

    select {{ key }}, 'nb_cusum', greatest(scan_p, exp(-cusum_statistic)), cusum_statistic,
        period_observed, cusum_expected, 1
    from count_tests where cusum_statistic is not null and scan_p is not null

    {% for method in ['c1', 'c2', 'c3'] %}
    union all

    select {{ key }}, 'ears_{{ method }}', scan_p, {{ method }}_stat,
        period_observed, {{ 'c1_mean' if method == 'c1' else 'c2_mean' }}, 1
    from count_tests where {{ method }}_stat is not null and scan_p is not null
    {% endfor %}

    union all

    select {{ key }}, 'seasonal_glm', glm_p, glm_z, period_observed, glm_expected, 1
    from count_tests where glm_p is not null

),

leveled as (

    select
        *,
        case
            {% for level in ['alert', 'warning', 'watch'] %}
            when p_value <= {{ alpha[level] }}
                and case
                    when method like 'ears_%' then statistic >= {{ z[level] }}
                    when method = 'nb_cusum' then statistic >= -ln({{ alpha[level] }})
                    else true
                end
                then '{{ level }}'
            {% endfor %}
        end as level
    from long

),

annual as (

    select
        city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
        'year' as series_grain, period_start, method, p_value, statistic,
        value as observed, previous_value as expected, cast(null as integer) as window_periods,
        case
            {% for level in ['alert', 'warning', 'watch'] %}
            when p_value <= {{ alpha[level] }} then '{{ level }}'
            {% endfor %}
        end as level
    from {{ ref('int_early_warning_annual') }}

),

all_tests as (

    select {{ key }}, method, p_value, statistic, observed, expected, window_periods, level
    from leveled

    union all

    select {{ key }}, method, p_value, statistic, observed, expected, window_periods, level
    from annual

),

chosen as (

    select
        *,
        case
            when series_grain in ('day', 'week') then method = 'count_scan'
            when series_grain = 'month' then method = case
                when bool_or(method = 'seasonal_glm') over point then 'seasonal_glm'
                else 'count_scan' end
            else true
        end as is_chosen
    from all_tests
    window point as (partition by {{ key }})

)

select
    chosen.*,
    coalesce(series.area_name, values_.area_name) as area_name,
    coalesce(series.indicator_name, values_.indicator_name) as indicator_name,
    coalesce(series.worse_sign, values_.worse_sign) as worse_sign,
    coalesce(series.series_label, values_.series_label) as series_label,
    coalesce(series.count_noun, values_.count_noun) as count_noun,
    coalesce(series.indicator_period_start, chosen.period_start) as indicator_period_start,
    coalesce(series.indicator_period_grain, 'year') as indicator_period_grain,
    case when chosen.series_grain = 'year' then 'value' else 'count' end as measure
from chosen
left join series using ({{ key }})
left join {{ ref('int_analytic_values') }} as values_
    on chosen.series_grain = 'year'
    and values_.city = chosen.city
    and values_.area_type = chosen.area_type
    and values_.area_id = chosen.area_id
    and values_.indicator_id = chosen.indicator_id
    and values_.breakdown_type = chosen.breakdown_type
    and values_.breakdown_value = chosen.breakdown_value
    and values_.period_start = chosen.period_start
    and values_.period_grain = 'year'
