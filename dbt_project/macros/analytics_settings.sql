{#
    Settings of the analytic layer (intervals, gaps, early warnings). Every setting is a dbt
    var with the default below, so a run can change it without editing code:

        dbt build --vars '{ew_day_baseline: 7, ew_day_min_sigma: 0}'

    Window sizes are compiled into SQL window frames, hence vars rather than a seed.
    The reasons for each default are in ANALYTICS.md.
#}
{% macro analytics_setting(name) -%}
    {%- set defaults = {
        'interval_level': 0.95,
        'trend_window_years': 5,
        'trend_min_points': 3,
        'ew_count_grains': ['day', 'month'],
        'ew_level_alpha': {'watch': 0.025, 'warning': 0.005, 'alert': 0.001},
        'ew_fdr_q': {'watch': 0.10, 'warning': 0.05, 'alert': 0.01},
        'ew_crime_indicators': ['violent_crime_rate', 'property_crime_rate'],
        'ew_day_baseline': 28,
        'ew_day_guard': 2,
        'ew_day_min_sigma': 1.0,
        'ew_week_baseline': 8,
        'ew_week_guard': 2,
        'ew_week_min_sigma': 1.0,
        'ew_month_baseline': 7,
        'ew_month_guard': 2,
        'ew_month_min_sigma': 1.0,
        'ew_level_z': {'watch': 1.96, 'warning': 2.576, 'alert': 3.09},
        'ew_annual_min_history': 3,
        'ew_annual_min_se': 1.0,
    } -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("unknown analytics setting: " ~ name) }}
    {%- endif -%}
    {{- return(var(name, defaults[name])) -}}
{%- endmacro %}

{# Two-sided standard normal quantile for the supported confidence levels. #}
{% macro normal_quantile_two_sided(level) -%}
    {%- set table = {0.8: 1.281552, 0.9: 1.644854, 0.95: 1.959964, 0.98: 2.326348, 0.99: 2.575829, 0.999: 3.290527} -%}
    {%- if level not in table -%}
        {{ exceptions.raise_compiler_error("interval_level must be one of " ~ (table.keys() | list)) }}
    {%- endif -%}
    {{- return(table[level]) -}}
{%- endmacro %}
